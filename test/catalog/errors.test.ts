// Which catalog failures are tried again (lib/catalog/errors.ts isTransient): what a passing cause explains, never
// what another try cannot change. The proxy cases in test/faults/catalog.test.ts run the same codes end to end.
import t from 'tap'
import { isTransient } from '../../lib/catalog/errors.js'

const err = (code: string) => Object.assign(new Error(code), { code })

t.test('a socket that timed out on a connection that was up is tried again, as a lost connection is', async (t) => {
  for (const code of ['ETIMEDOUT', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT']) t.ok(isTransient(err(code)), code)
})

t.test('deadlocks, lock time-outs, serialization and recovery conflicts, crashes and restarts are tried again', async (t) => {
  for (const code of ['40P01', '55P03', '40001', '57P01', '57P02', '57P03', '53300']) t.ok(isTransient(err(code)), code)
})

t.test('what another try cannot change fails at once', async (t) => {
  for (const code of ['28P01', '42501', '42P01', '3D000', '57014', 'ENOTFOUND', '22P02']) t.notOk(isTransient(err(code)), code)
  t.notOk(isTransient(new Error('no code')))
})
