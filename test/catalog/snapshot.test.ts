// lib/catalog/snapshot.ts: a try's catalog connection cancels its own statement from a connection of its own, and
// that cancel never fails, even where the server refuses the connection it needs (postgres.js's query.cancel()
// then leaves a rejection no code can catch, and a night stopping a selection would end as an internal error).
import t, { type Test } from 'tap'
import type postgres from 'postgres'
import { catalogTarget, type CatalogTarget } from '../../lib/catalog/connection.js'
import { snapshotConnection } from '../../lib/catalog/snapshot.js'
import { startPgProxy } from '../fakes/pg-proxy.js'
import { freshDatabase, usingServer } from '../helpers/database.js'

const onServer = { skip: usingServer ? false : 'PGlite serves one statement at a time: a cancel waits for the statement it cancels' }

/** Begins a snapshot on a new connection to `target` and starts a long statement on it, waiting until the server runs it. */
async function sleeper(t: Test, target: CatalogTarget, admin: postgres.Sql) {
  const connection = snapshotConnection(target)
  t.teardown(() => connection.close())
  await connection.begin()
  const pid = await connection.backendPid()
  const sleeping = connection.sql`select pg_sleep(600)`.then(() => 'finished', (err: { code?: string }) => err.code)
  while (!(await admin`select 1 from pg_stat_activity where pid = ${pid} and state = 'active'`).length) await new Promise((r) => setTimeout(r, 20))
  return { connection, pid, sleeping }
}

t.test('cancel stops the statement its connection runs', onServer, async (t) => {
  const { url, sql } = await freshDatabase(t)
  const { connection, sleeping } = await sleeper(t, catalogTarget(url, {}), sql)
  await connection.cancel()
  t.equal(await sleeping, '57014', 'query_canceled')
})

t.test('cancel never fails, and leaves no rejection behind, when the server cannot be reached', onServer, async (t) => {
  const db = await freshDatabase(t)
  const real = new URL(db.url)
  const proxy = await startPgProxy({ host: real.hostname, port: Number(real.port) }, () => 'forward')
  t.teardown(() => proxy.close())
  const unhandled: unknown[] = []
  const note = (reason: unknown) => void unhandled.push(reason)
  process.on('unhandledRejection', note)
  t.teardown(() => void process.off('unhandledRejection', note))
  const target = catalogTarget(`postgres://postgres@127.0.0.1:${proxy.port}${real.pathname}?sslmode=disable`, {})
  const { connection, pid, sleeping } = await sleeper(t, target, db.sql)
  // The connection stays; a new one is refused (ECONNREFUSED), as by a server going down.
  await proxy.stopListening()
  await connection.cancel()
  t.equal(proxy.seen.length, 1, 'no connection got through')
  // The statement runs on: the server was never asked. Stopped here by the test's own connection.
  t.same(await db.sql`select state from pg_stat_activity where pid = ${pid}`, [{ state: 'active' }])
  await db.sql`select pg_cancel_backend(${pid}::int)`
  t.equal(await sleeping, '57014')
  // A rejection left behind shows within the next turns of the event loop (postgres.js's query.cancel() here: one).
  // A wait for something not to happen: a busy machine can only make the test pass where it should fail.
  await new Promise((r) => setTimeout(r, 200))
  t.same(unhandled, [])
})
