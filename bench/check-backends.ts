// The two CDB backends of check side by side on a Run 3-sized run list (3,000 runs), with the same latency added
// to every CDB answer: filter-datasets run once sequentially (--jobs 1, the seed's way) and sharded 4 ways (each
// of its seven lookups per run waits --delay-ms), and --cdb rest (each request waits --delay-ms at the fake
// nopayloaddb); then a night where every run is settled, which must make no request. Each is measured once, as a
// whole `check` process started as the Taskfile starts it (`node tasks/start.cjs tasks/check.ts`), its wall and CPU time from GNU
// time. Not a test. Run by `npx tsx bench/check.ts --backends [--runs 3000] [--delay-ms 20]`.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { saveState, stateFromRunList } from '../test/fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../test/fakes/nopayloaddb.mjs'
import { stageArgs } from '../test/helpers/run-script.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FAKE = join(ROOT, 'test', 'fakes', 'CaloCDB-FilterDatasets')
/** The target of issue 15 for a first night with --cdb rest. */
export const REST_FIRST_NIGHT_SECONDS = 8

interface Measured {
  name: string
  seconds: number
  /** User and system CPU seconds of the check process. */
  cpu: number
  lookups: number
  summary: string
}

const timesFile = () => join(tmpdir(), `caloprod-bench-time-${process.pid}`)

/** Runs check's bundle as the Taskfile does, returning its wall and CPU time and summary; fails on a non-zero exit. */
function check(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; cpu: number; stdout: string }> {
  const start = process.hrtime.bigint()
  const times = timesFile()
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-o', times, '-f', '%U %S', process.execPath, ...stageArgs('check', ...args)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      const cpu = readFileSync(times, 'utf8').trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b, 0)
      if (code === 0) resolve({ seconds, cpu, stdout: stdout.trim() })
      else reject(new Error(`check ${args.join(' ')} exited ${code}: ${stderr.trim()}`))
    })
  })
}

export async function benchBackends({ runs, delayMs, restOnly = false }: { runs: number; delayMs: number; restOnly?: boolean }): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'caloprod-bench-backends-'))
  const say = (text: string) => process.stderr.write(`bench check --backends: ${text}\n`)
  const state = join(dir, 'cdb-state.json')
  const lookupsFile = join(dir, 'lookups.txt')
  const runList = `runnumber,tag\n${Array.from({ length: runs }, (_, i) => `${66500 + i},new_newcdbtag_v008\n`).join('')}`
  // The first night's CDB as the fake generates it: 60% of the runs current, 10% outdated, the rest missing.
  saveState(state, stateFromRunList(runList, { seed: 1 }))
  const server = await startFakeNopayloaddb({ state, runList: join(dir, 'rest', 'run3auau.csv'), faults: { latencyMs: delayMs } })
  const env = { ...process.env, FAKE_CDB_STATE: state, FAKE_CDB_DELAY_MS: String(delayMs), FAKE_CDB_LOOKUPS: lookupsFile }
  const countLookups = async () => (await readFile(lookupsFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).length
  const results: Measured[] = []
  try {
    const night = async (name: string, output: string, args: string[]): Promise<Measured> => {
      const before = [await countLookups(), server.requests.length]
      const { seconds, cpu, stdout } = await check(['--output', output, ...args], env)
      const lookups = (await countLookups()) - before[0] + server.requests.length - before[1]
      const result = { name, seconds, cpu, lookups, summary: stdout }
      say(`${name}: ${seconds.toFixed(1)} s (CPU ${cpu.toFixed(1)} s), ${lookups} lookups or requests; ${stdout.slice(0, 160)}`)
      results.push(result)
      return result
    }
    for (const name of ['sequential', 'sharded', 'rest']) {
      await mkdir(join(dir, name), { recursive: true })
      await writeFile(join(dir, name, 'run3auau.csv'), runList)
    }
    say(`${runs} runs, ${delayMs} ms added to every CDB answer, in ${dir}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    const rest = await night('check --cdb rest, first night (16 requests at once)', join(dir, 'rest'), ['--cdb', 'rest', '--cdb-url', server.apiUrl])
    // --rest-only: the rest nights alone, for a quick look (the comparison needs the whole bench).
    const sharded = restOnly ? undefined : await night('check, filter-datasets sharded 4 ways, first night', join(dir, 'sharded'), ['--bin-filter-datasets', FAKE, '--jobs', '4'])
    const sequential = restOnly ? undefined : await night('check, filter-datasets --jobs 1 (the seed\'s way)', join(dir, 'sequential'), ['--bin-filter-datasets', FAKE, '--jobs', '1'])
    // The same runs and tags: rest also writes each run's reasons (missing, outdated), filter-datasets alone cannot.
    const runTags = async (name: string) => (await readFile(join(dir, name, 'run3auau-process.csv'), 'utf8'))
      .split('\n').map((line) => line.split(',').slice(0, 2).join(',')).join('\n')
    const same = restOnly || (await runTags('rest')) === (await runTags('sharded'))
    // Every map made: one night asks about the runs not settled yet, the next one nothing.
    saveState(state, { default: 'current', runs: {} })
    await check(['--output', join(dir, 'rest'), '--cdb', 'rest', '--cdb-url', server.apiUrl, '--quiet'], env)
    const settled = await night('check --cdb rest, every run settled', join(dir, 'rest'), ['--cdb', 'rest', '--cdb-url', server.apiUrl])

    const out = (line: string) => process.stdout.write(`${line}\n`)
    out(`check backends: ${runs} runs, ${delayMs} ms added to every CDB answer (7 lookups a run for filter-datasets, 1 request for rest)`)
    out('')
    out(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores)`)
    out('')
    out('| check | wall s | CPU s | lookups / requests | wall vs rest |')
    out('| --- | ---: | ---: | ---: | ---: |')
    for (const r of results) {
      out(`| ${r.name} | ${r.seconds.toFixed(1)} | ${r.cpu.toFixed(1)} | ${r.lookups} | ${r === settled ? '' : `${(r.seconds / rest.seconds).toFixed(1)}×`} |`)
    }
    out('')
    const targets: [boolean, string][] = [
      [rest.seconds <= REST_FIRST_NIGHT_SECONDS, `rest first night ${rest.seconds.toFixed(1)} s (target ≤ ${REST_FIRST_NIGHT_SECONDS} s)` +
        (sharded && sequential ? `; sharded ${sharded.seconds.toFixed(1)} s, sequential ${sequential.seconds.toFixed(1)} s` : '')],
      [settled.lookups === 0, `every run settled: ${settled.lookups} requests (target 0)`],
      [same, `rest and filter-datasets wrote the same process list: ${same ? 'yes' : 'NO'}`],
    ]
    for (const [ok, text] of targets) out(`${ok ? 'PASS' : 'FAIL'}  ${text}`)
    return targets.every(([ok]) => ok) ? 0 : 1
  } finally {
    await server.close()
    await rm(dir, { recursive: true, force: true })
    await rm(timesFile(), { force: true })
  }
}
