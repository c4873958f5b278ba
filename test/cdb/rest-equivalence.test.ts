// Both backends of check on many random CDB states: the fake CaloCDB-FilterDatasets (shards, its own stdout and
// process csv) and the fake nopayloaddb (one request per run, rows judged by lib/cdb/payload-iovs.ts) read the
// same state file, and must give the same process list, the same settled cache and the same counts per type.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCheck, type CheckOptions, type CheckResult } from '../../lib/check.js'
import { PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { randomInt, seededRandom } from '../demo/random.js'
import type { Log } from '../../lib/log.js'
import { CURRENT_RULES } from '../../lib/rules/current.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { payloadFile, type FakeCdbState, type FakeIov } from '../fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../fakes/nopayloaddb.mjs'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, runListCsv, setCdbState } from '../helpers/fake-cdb.js'

/** How many random states; CALOPROD_REST_STATES raises it for a longer soak. */
export const RANDOM_STATES = Number(process.env.CALOPROD_REST_STATES ?? 24)

const silent: Log = { info: () => {}, warn: () => {}, summary: () => {} }
const NOW = new Date('2026-07-01T03:00:00.000Z')
const TAGS = ['new_newcdbtag_v008', 'new_newcdbtag_v009', 'ana451_2024p009']

/** A run list, a settled cache and a CDB state drawn from `seed`: every kind of payload the rules tell apart. */
function randomCase(seed: number) {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const runs: [number, string][] = []
  for (let run = 66500 + randomInt(random, 0, 20); runs.length < randomInt(random, 8, 30) + 8; run += randomInt(random, 1, 3)) runs.push([run, pick(TAGS)])
  const other = (tag: string) => TAGS.find((x) => x !== tag) ?? 'x'
  const spec = (type: string, run: number, tag: string): string => {
    const roll = random()
    if (roll < 0.3) return 'current'
    if (roll < 0.45) return `current:${tag}`
    if (roll < 0.55) return `current:${other(tag)}`
    if (roll < 0.65) return 'outdated'
    if (roll < 0.75) return 'missing'
    // The BadTowerMap trap: its payload is named EMCalHotMap_<tag>_<run>cdb.root, not <type>_<tag>_<run>.root.
    if (type === 'CEMC_BadTowerMap') {
      return roll < 0.85 ? `/sphenix/cdb/CEMC_BadTowerMap/${payloadFile('CEMC_meanTime', tag, run).replace('CEMC_meanTime', 'CEMC_BadTowerMap')}` : `/elsewhere/${payloadFile(type, tag, run)}`
    }
    return roll < 0.85 ? `/sphenix/cdb/${type}/EMCalHotMap_${tag}_${run}cdb.root` : `/elsewhere/${payloadFile(type, tag, run)}`
  }
  const state: FakeCdbState = { default: random() < 0.3 ? 'current' : 'missing', runs: {}, iovs: [] }
  for (const [run, tag] of runs) {
    const roll = random()
    if (roll < 0.2) continue // the default
    if (roll < 0.35) state.runs![run] = pick(['current', `current:${tag}`, 'outdated', 'missing'])
    else state.runs![run] = Object.fromEntries(PAYLOAD_TYPES.filter(() => random() < 0.6).map((type) => [type, spec(type, run, tag)]))
  }
  // IOVs over several runs: open-ended, ended before some runs, or covering a run exactly with its own name.
  for (let i = randomInt(random, 0, 4); i > 0; i--) {
    const [start, tag] = pick(runs)
    const iov: FakeIov = { type: random() < 0.3 ? '*' : pick(PAYLOAD_TYPES), spec: pick([`current:${tag}`, 'outdated', `current:${other(tag)}`]), start }
    const end = random()
    if (end < 0.4) iov.end = start + randomInt(random, 1, 6)
    else if (end < 0.5) iov.end = null
    state.iovs!.push(iov)
  }
  // The end's boundary: an IOV named for a later run that ends exactly at it (missing) or just after (current).
  for (let i = randomInt(random, 0, 3); i > 0; i--) {
    const [target, tag] = pick(runs)
    const type = pick(PAYLOAD_TYPES)
    const name = type === 'CEMC_BadTowerMap' ? `EMCalHotMap_${tag}_${target}cdb.root` : payloadFile(type, tag, target)
    const start = target - randomInt(random, 1, 3)
    state.iovs!.push({ type, spec: `/sphenix/cdb/${type}/${name}`, start, end: target + randomInt(random, 0, 1) })
    // No run of [start, target] has its own IOV of the type, so this one is the latest start for the target.
    for (let run = start; run <= target; run++) {
      const entry = state.runs![run]
      state.runs![run] = { ...(typeof entry === 'string' ? { '*': entry } : entry), [type]: 'missing' }
    }
    // Every other type of the target current: whether it is kept turns on this one end alone.
    state.runs![target] = { '*': `current:${tag}`, [type]: 'missing' }
  }
  const settled = runs.filter(() => random() < 0.3).map(([run, tag]) => `${run},${random() < 0.8 ? tag : other(tag)},2026-06-${random() < 0.5 ? '30' : '01'}T03:00:00.000Z\n`)
  return { runs, state, settled: `runnumber,tag,checked_at\n${settled.join('')}`, columns: (random() < 0.5 ? 8 : 9) as 8 | 9, recheck: random() < 0.2 }
}

t.test(`both backends agree on ${RANDOM_STATES} random CDB states`, async (t) => {
  const root = t.testdir()
  const cdbFiles = fakeCdb(root)
  const server = await startFakeNopayloaddb({ state: cdbFiles.state })
  t.teardown(() => server.close())
  let kept = 0
  let asked = 0
  for (let seed = 1; seed <= RANDOM_STATES; seed++) {
    const { runs, state, settled, columns, recheck } = randomCase(seed)
    // Every third state under the current rules: ten payload types, and a filter-datasets release that asks ten.
    const [rules, types] = seed % 3 === 0 ? [CURRENT_RULES, '10'] : [SEED_RULES, '7']
    setCdbState(cdbFiles, state)
    server.setFaults({ columns })
    const results: Record<string, { process: string; settled: string; result: CheckResult }> = {}
    for (const cdb of ['filter-datasets', 'rest'] as const) {
      const output = join(root, `${seed}-${cdb}`)
      mkdirSync(output)
      writeFileSync(join(output, 'run3auau.csv'), runListCsv(runs))
      writeFileSync(join(output, 'run3auau-settled.csv'), settled)
      server.runList = join(output, 'run3auau.csv')
      const options: CheckOptions = {
        output, runType: 'run3auau', jobs: cdb === 'rest' ? 8 : 3, recheck, recheckAfter: 7 * 86400, timeout: 120, cdbTries: 1,
        binFilterDatasets: FAKE_FILTER_DATASETS, cdb, cdbUrl: server.apiUrl, globalTag: 'newcdbtag', rules,
      }
      const result = await runCheck(options, silent, { env: { ...process.env, ...fakeCdbEnv(cdbFiles, { FAKE_CDB_TYPES: types }) }, now: () => NOW, retryBaseMs: 1, tempRoot: root })
      const read = (name: string) => readFileSync(join(output, name), 'utf8')
      results[cdb] = { process: read('run3auau-process.csv'), settled: read('run3auau-settled.csv'), result }
    }
    const [fd, rest] = [results['filter-datasets'], results.rest]
    t.equal(rest.process, fd.process, `seed ${seed}: same process list`)
    t.equal(rest.settled, fd.settled, `seed ${seed}: same settled cache`)
    t.same(rest.result.counts, fd.result.counts, `seed ${seed}: same counts per type`)
    t.equal(rest.result.calls, rest.result.asked + 1, `seed ${seed}: the global tags, then one request per run asked`)
    kept += rest.result.toProcess
    asked += rest.result.asked
  }
  // The states are not all alike: some runs kept, some current.
  t.ok(kept > asked / 5 && kept < asked, `${kept} of ${asked} runs asked were kept`)
})
