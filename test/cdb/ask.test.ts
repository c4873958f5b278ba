import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import t, { type Test } from 'tap'
import { askCdb, describeRuns, splitShards, type AskOptions } from '../../lib/cdb/ask.js'
import type { RunTag } from '../../lib/files/run-list.js'
import type { Log } from '../../lib/log.js'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { calls, FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, lookups, runListCsv, type FakeCdb } from '../helpers/fake-cdb.js'

const silent: Log = { info: () => {}, warn: () => {}, summary: () => {} }

/** A log that keeps what it is told. */
function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`warn: ${m}`), summary: () => {} }
}

/** 40 runs: a third current, a third outdated in one type, the rest missing. */
const RUNS: RunTag[] = Array.from({ length: 40 }, (_, i) => ({ runnumber: 66600 + i, tag: i % 5 === 0 ? 'v9' : 'v8' }))
const STATE: FakeCdbState = {
  default: 'missing',
  runs: Object.fromEntries(
    RUNS.flatMap((r, i): [number, string | Record<string, string>][] =>
      i % 3 === 0 ? [[r.runnumber, 'current']] : i % 3 === 1 ? [[r.runnumber, { '*': 'current', HCALOUT_meanTime: 'outdated' }]] : []),
  ),
}

/** A fresh directory per call (t.testdir() is one per test, emptied on each call). */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'caloprod-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function setup(t: Test, state = STATE, extra: Record<string, string> = {}) {
  const root = tempDir(t)
  const cdb = fakeCdb(root, state)
  const options = (more: Partial<AskOptions> = {}): AskOptions => ({
    bin: FAKE_FILTER_DATASETS, payloadTypes: SEVEN_PAYLOAD_TYPES, jobs: 4, timeoutMs: 20000, attempts: 3, env: { ...process.env, ...fakeCdbEnv(cdb, extra) },
    log: silent, retryBaseMs: 1, tempRoot: root, ...more,
  })
  return { root, cdb, options }
}

/** What the seed does: one filter-datasets call on the whole run list; its process csv's runs. */
function seedAnswer(root: string, cdb: FakeCdb, runs: RunTag[]): number[] {
  writeFileSync(join(root, 'seed.csv'), runListCsv(runs.map((r) => [r.runnumber, r.tag])))
  execFileSync(FAKE_FILTER_DATASETS, [join(root, 'seed.csv'), root], { env: { ...process.env, ...fakeCdbEnv(cdb) } })
  return readFileSync(join(root, 'seed-process.csv'), 'utf8').split('\n').slice(1).filter(Boolean).map(Number)
}

t.test('shards: at least one per job, at most maxRuns runs each, even and in order', async (t) => {
  const items = Array.from({ length: 10 }, (_, i) => i)
  t.same(splitShards(items, 4, 250), [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]])
  t.same(splitShards(items, 1, 250), [items])
  t.same(splitShards(items, 1, 3).map((s) => s.length), [2, 3, 2, 3])
  t.same(splitShards(items, 20, 250).length, 10)
  t.same(splitShards([], 4, 250), [])
  t.same(splitShards(items, 3, 250).flat(), items)
})

t.test('sharded equals sequential, and equals the seed\'s single call', async (t) => {
  const { root, cdb, options } = setup(t)
  const sharded = await askCdb(RUNS, options({ jobs: 4, maxShardRuns: 7 }))
  const sequential = await askCdb(RUNS, options({ jobs: 1 }))
  t.equal(sharded.shards, 6)
  t.equal(sequential.shards, 1)
  t.equal(sequential.calls, 1)
  t.same([...sharded.keep].sort((a, b) => a - b), [...sequential.keep].sort((a, b) => a - b))
  t.same(sharded.counts, sequential.counts)
  t.same([...sequential.keep].sort((a, b) => a - b), seedAnswer(root, cdb, RUNS))
  t.equal(sequential.counts.HCALOUT_meanTime.outdated, 13)
  t.equal(sequential.counts.CEMC_meanTime.missing, 13)
  t.equal(lookups(cdb).length, (40 + 40 + 40) * 7)
  t.same(readdirSync(root).filter((n) => n.startsWith('caloprod-check-')), [], 'its working directory is removed')
})

t.test('no runs: no call at all', async (t) => {
  const { cdb, options } = setup(t)
  const answer = await askCdb([], options())
  t.equal(answer.calls, 0)
  t.same(calls(cdb), [])
})

t.test('a shard that fails once is tried again and the answer is complete', async (t) => {
  const { cdb, options } = setup(t, STATE, { FAKE_CDB_FAIL: 'crash-midway', FAKE_CDB_FAIL_TIMES: '1' })
  const log = memoryLog()
  const answer = await askCdb(RUNS, options({ log }))
  const clean = await askCdb(RUNS, setup(t).options())
  t.same([...answer.keep].sort(), [...clean.keep].sort())
  t.same(answer.counts, clean.counts)
  t.equal(answer.calls, 5, 'four shards, one of them twice')
  t.equal(calls(cdb).length, 5)
  t.match(log.lines.join('\n'), /try 1 of 3: filter-datasets crashed \(killed by SIGABRT\).*trying again in/)
})

t.test('pauses between tries grow', async (t) => {
  const { options } = setup(t, STATE, { FAKE_CDB_FAIL: 'exit1' })
  const pauses: number[] = []
  await t.rejects(askCdb(RUNS.slice(0, 2), options({ jobs: 1, attempts: 3, retryBaseMs: 1000, sleep: async (ms) => void pauses.push(ms) })))
  t.equal(pauses.length, 2)
  t.ok(pauses[0] >= 500 && pauses[0] <= 1000 && pauses[1] >= 1000 && pauses[1] <= 2000, `${pauses}`)
})

t.test('a shard that keeps failing fails the ask, names its runs, and stops the other shards', async (t) => {
  // The other shards wait at a gate never opened, so none ends before the first has failed its three tries (with
  // lookups of a fixed time, a busy machine's slow starts of the failing one let the last shard start).
  const gate = join(tempDir(t), 'never-opened')
  const { cdb, options } = setup(t, STATE, { FAKE_CDB_FAIL: 'exit1', FAKE_CDB_FAIL_RUN: '66603', FAKE_CDB_GATE: gate })
  const log = memoryLog()
  const err = await askCdb(RUNS, options({ jobs: 2, maxShardRuns: 10, log })).then(() => undefined, (e: unknown) => e)
  t.match((err as Error).message, /^CDB check failed for runs 66600, 66601, 66602, 66603, 66604, 66605, 66606, 66607, 66608, 66609: filter-datasets exited with code 1; its last words: "CDBUtils: cannot reach the CDB server for global tag newcdbtag" \(tried 3 times\); nothing was written; check that the CDB is reachable and re-run the check stage$/)
  t.match(log.lines.join('\n'), /shard 1 of 4 failed; its runs: 66600 66601 66602 66603 66604 66605 66606 66607 66608 66609/)
  t.notOk(lookups(cdb).some((l) => Number(l.split(',')[0]) >= 66620), 'the last two shards never started')
  t.ok(calls(cdb).length <= 4, `the first shard three times, the second once at most: ${calls(cdb).length} calls`)
})

t.test('runs in a message: all of a few, ten and a count of many', async (t) => {
  t.equal(describeRuns([{ runnumber: 1, tag: 'a' }]), 'run 1')
  t.equal(describeRuns(RUNS.slice(0, 3)), 'runs 66600, 66601, 66602')
  t.equal(describeRuns(RUNS), '40 runs 66600, 66601, 66602, 66603, 66604, 66605, 66606, 66607, 66608, 66609 … 66639 (all listed in the log)')
})

t.test('an abort from outside stops everything and says so', async (t) => {
  const { options } = setup(t, STATE, { FAKE_CDB_FAIL: 'hang' })
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 300)
  await t.rejects(askCdb(RUNS, options({ signal: controller.signal })), /CDB check interrupted; nothing was written/)
})
