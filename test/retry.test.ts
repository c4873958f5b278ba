import t from 'tap'
import { withRetry } from '../lib/retry.js'

const transient = Object.assign(new Error('restarting'), { code: '57P03' })
const fatal = Object.assign(new Error('no such table'), { code: '42P01' })

t.test('retries transient errors with growing, jittered pauses, then succeeds', async (t) => {
  const pauses: number[] = []
  let calls = 0
  const result = await withRetry(
    async () => {
      if (++calls < 3) throw transient
      return 'ok'
    },
    { retryable: (e) => e === transient, baseMs: 100, sleep: async (ms) => void pauses.push(ms), random: () => 1 },
  )
  t.equal(result, 'ok')
  t.equal(calls, 3)
  t.same(pauses, [100, 200])
})

t.test('jitter stays between half and all of the pause, capped by maxMs', async (t) => {
  const pauses: number[] = []
  await t.rejects(
    withRetry(async () => { throw transient }, {
      retryable: () => true, attempts: 6, baseMs: 100, maxMs: 400, sleep: async (ms) => void pauses.push(ms), random: () => 0,
    }),
  )
  t.same(pauses, [50, 100, 200, 200, 200])
})

t.test('a non-retryable error fails at once', async (t) => {
  let calls = 0
  await t.rejects(withRetry(async () => { calls++; throw fatal }, { retryable: (e) => e === transient, sleep: async () => {} }), fatal)
  t.equal(calls, 1)
})

t.test('gives up after the last try with the last error, telling each retry', async (t) => {
  const told: number[] = []
  await t.rejects(
    withRetry(async () => { throw transient }, { retryable: () => true, attempts: 3, sleep: async () => {}, onRetry: (_e, n) => told.push(n) }),
    transient,
  )
  t.same(told, [1, 2])
})
