// `check --cdb rest` against answers that contradict each other (lib/cdb/answer-gaps.ts): nopayloaddb answers each
// type's IOV with the latest start at or before the run, so a run answered without a type another answer shows
// starting before it was misanswered (a read replica out of step, a proxy dropping the query string). Asked again;
// refused, nothing written, if it stays so; never taken as "every map missing".
import t from 'tap'
import { answerGaps } from '../../lib/cdb/answer-gaps.js'
import type { PayloadIov } from '../../lib/cdb/payload-iovs.js'
import { payloadIovs, type FakeRoute } from '../fakes/nopayloaddb.mjs'
import { failedLine, read, setup } from '../helpers/rest-check.js'

const iov = (type: string, start: number, end = 2 ** 63): PayloadIov => ({
  type, url: `${type}.root`, checksum: null, majorIov: 0, minorIov: start, majorIovEnd: end === 2 ** 63 ? end : 0, minorIovEnd: end,
})

t.test('answerGaps: a type another answer shows starting at or before the run, absent from its answer', async (t) => {
  const answers = new Map([
    [100, [iov('A', 0), iov('B', 100, 101)]],
    [101, [iov('A', 0)]], // B's IOV of run 100 starts before 101: a gap
    [99, [iov('A', 0)]], // B starts after 99: none
    [102, []], // A and B: two gaps
  ])
  t.same(answerGaps(answers), [
    { run: 101, type: 'B', witness: 100, start: 100 },
    { run: 102, type: 'A', witness: 100, start: 0 },
    { run: 102, type: 'B', witness: 100, start: 100 },
  ])
  t.same(answerGaps(new Map([[5, []], [6, []]])), [], 'all empty: nothing to contradict')
  t.same(answerGaps(new Map([[5, []]]), new Map([[Number.MAX_SAFE_INTEGER, [iov('A', 3)]]])), [{ run: 5, type: 'A', witness: Number.MAX_SAFE_INTEGER, start: 3 }],
    'a witness that is no run of the check')
  t.same(answerGaps(new Map([[5, [iov('A', 5, 6)]], [7, [iov('A', 6, 7)]]])), [], 'each has its own row: no gap')
})

/** A payloadiovs route that answers as the fake does until `arm(change)`: then as `change` says (after the first night). */
function armable() {
  let change: FakeRoute | undefined
  const route: FakeRoute = (ctx) => (change ?? payloadIovs)(ctx)
  return { route, arm: (next: FakeRoute) => void (change = next) }
}

/** payloadiovs answering [] for `run` the first `times` times it is asked (every time: Infinity), else as the fake does. */
function emptyFor(run: number, times: number): FakeRoute {
  let asked = 0
  return (ctx) => {
    if (ctx.query.get('minorIOV') === String(run) && asked++ < times) return { status: 200, body: '[]' }
    return payloadIovs(ctx)
  }
}

t.test('one answer [] from a replica out of step, then the right one: asked again, the night goes on', async (t) => {
  const { route, arm } = armable()
  const { check, paths, server } = await setup(t, { 'GET payloadiovs/': route })
  arm(emptyFor(66502, 1))
  server.requests.length = 0
  const result = await check(['--verbose'])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stderr, /run 66502 answered without payloads other answers show; asking again/)
  t.match(result.stdout, /3 asked in 5 requests; 0 to process/)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n', 'not sent for nothing')
})

t.test('a run answered [] every time: refused in one line naming it, nothing written', async (t) => {
  const { route, arm } = armable()
  const { check, untouched, server } = await setup(t, { 'GET payloadiovs/': route })
  arm(emptyFor(66502, Infinity))
  server.requests.length = 0
  const line = failedLine(t, 'always []', await check())
  t.match(line, new RegExp(`^caloprod check: CDB check failed, nothing was written: nopayloaddb ${server.apiUrl} answered run 66502 without \\S+ in 3 tries, though its answer for run 665\\d\\d shows .* a read replica out of step with the others, or a proxy dropping the query string\\? check the server$`))
  t.equal(server.requests.filter((r) => r.run === '66502').length, 3)
  untouched(t, 'always []')
})

t.test('every answer [] (the query string dropped), the tag not empty: refused, not every run sent', async (t) => {
  const { route, arm } = armable()
  const { check, untouched, server } = await setup(t, { 'GET payloadiovs/': route })
  arm((ctx) => payloadIovs({ ...ctx, query: new URLSearchParams() }))
  server.requests.length = 0
  const line = failedLine(t, 'query string dropped', await check())
  t.match(line, /answers no payload of global tag "newcdbtag" for any of the 3 runs asked, nor for its newest IOVs \(minorIOV=9007199254740991\), though its list of global tags counts \d+ payload IOVs in it: a proxy dropping the query string/)
  untouched(t, 'query string dropped')
})
