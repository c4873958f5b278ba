#!/usr/bin/env -S npx tsx
// Measures the check stage against the fake CDB with a per-lookup delay: the seed's way (one sequential
// filter-datasets call on the whole run list) against tasks/check.ts on a first run and on nightly re-runs.
// Not a test: wall times depend on the machine. Usage: npx tsx bench/check.ts [--runs 500] [--delay-ms 50] [--jobs 4]
// With --backends: the two CDB backends of check side by side instead (bench/check-backends.ts):
//   npx tsx bench/check.ts --backends [--runs 3000] [--delay-ms 20] [--rest-only]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { $ } from 'zx'
import { saveState, stateFromRunList } from '../test/fakes/cdb-lib.mjs'
import { stageArgs } from '../test/helpers/run-script.js'
import { benchArgs } from './args.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FAKE = join(ROOT, 'test', 'fakes', 'CaloCDB-FilterDatasets')

const args = benchArgs('check', `Usage: npx tsx bench/check.ts [--runs 500] [--delay-ms 50] [--jobs 4]
       npx tsx bench/check.ts --backends [--runs 3000] [--delay-ms 20] [--rest-only]`, {
  string: ['runs', 'delay-ms', 'jobs'], boolean: ['backends', 'rest-only'],
})
if (args.backends) {
  const { benchBackends } = await import('./check-backends.js')
  process.exitCode = await benchBackends({ runs: Number(args.runs ?? 3000), delayMs: Number(args['delay-ms'] ?? 20), restOnly: args['rest-only'] })
  process.exit()
}
args.runs ??= '500'
args['delay-ms'] ??= '50'
const runs = Number(args.runs)
const delayMs = Number(args['delay-ms'])
const jobFlag = args.jobs ? ['--jobs', String(args.jobs)] : []

const dir = await mkdtemp(join(tmpdir(), 'caloprod-bench-check-'))
const output = join(dir, 'output')
const state = join(dir, 'cdb-state.json')
const lookups = join(dir, 'lookups.txt')
const say = (text: string) => process.stderr.write(`bench check: ${text}\n`)

const runList = `runnumber,tag\n${Array.from({ length: runs }, (_, i) => `${66500 + i},new_newcdbtag_v008\n`).join('')}`
const env = { ...process.env, FAKE_CDB_STATE: state, FAKE_CDB_DELAY_MS: String(delayMs), FAKE_CDB_LOOKUPS: lookups }
const sh = $({ cwd: ROOT, env, quiet: true, verbose: false, spinner: false })

const countLookups = async () => (await readFile(lookups, 'utf8').catch(() => '')).split('\n').filter(Boolean).length

/** Runs `step`, returning its wall time in seconds and the lookups it made. */
async function measure(name: string, step: () => Promise<unknown>): Promise<{ name: string; seconds: number; lookups: number }> {
  const before = await countLookups()
  const start = process.hrtime.bigint()
  await step()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const result = { name, seconds, lookups: (await countLookups()) - before }
  say(`${name}: ${seconds.toFixed(1)} s, ${result.lookups} lookups`)
  return result
}

const check = () => sh`${process.execPath} ${stageArgs('check', '--output', output, '--bin-filter-datasets', FAKE, '--quiet', ...jobFlag)}`

try {
  await $({ quiet: true })`mkdir -p ${output}`
  await writeFile(join(output, 'run3auau.csv'), runList)
  // The seed's CDB as the fake generates it: 60% of the runs current, 10% outdated, the rest missing.
  saveState(state, stateFromRunList(runList, { seed: 1 }))
  say(`${runs} runs, ${delayMs} ms per lookup, in ${dir}`)
  const results = [
    await measure('(a) seed: one sequential filter-datasets call', async () => {
      const seedDir = join(dir, 'seed')
      await $({ quiet: true })`mkdir -p ${seedDir}`
      await sh`${FAKE} ${join(output, 'run3auau.csv')} ${seedDir}`
    }),
    await measure('(b) check, first run (no cache)', check),
    await measure('(c) check, nightly re-run, nothing changed', check),
  ]
  // Once the jobs have run, every map is current: one more night asks about those runs, then nothing.
  saveState(state, { default: 'current', runs: {} })
  await check()
  results.push(await measure('(d) check, nightly re-run, every run settled', check))
  process.stdout.write(`check bench: ${runs} runs, ${delayMs} ms per lookup, --jobs ${args.jobs ?? '4 (default)'}\n`)
  for (const r of results) process.stdout.write(`${r.name.padEnd(48)} ${r.seconds.toFixed(1).padStart(7)} s  ${String(r.lookups).padStart(6)} lookups\n`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
