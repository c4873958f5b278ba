#!/usr/bin/env -S npx tsx
// `npx tsx bench/speed.ts`: issue 26's rows on the bench catalog (bench/load-catalog.ts, loaded once and reused):
// the lists stage at 0 ms and 2 ms per stat (strace-injected) against files × 2 ms ÷ concurrency; the query stage
// under the seed and current rules against their floors (their statements copied out by psql); the catalog's
// fingerprint alone; a first night and a quiet night of the query stage. Peers (the seed and head scripts) are
// not in this repository: their figures are printed as documented (issue 26), or a peer statement given with
// --peer-sql FILE is timed as the floors are. Wall times on a shared machine move; each row is a median.
//
//   npx tsx bench/speed.ts [--runs N] [--database NAME] [--work DIR] [--paths N] [--peer-sql FILE] [--only L]
//
// --only takes the rows' first words: floor, query, fingerprint, quiet, lists, and two sets never run unless named:
// cpu (server CPU of the statements), spare (a first night's query against its floor with a core to spare) and
// fuse (lists through bench/slow-fs, a file system whose file lookups wait 0 and 2 ms: needs root, /dev/fuse, go).
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { buildSelection } from '../lib/catalog/selection.js'
import { layout } from '../lib/files/layout.js'
import { BUILTIN_RULES } from '../lib/rules/load.js'
import { benchArgs, benchOnly } from './args.js'
import { DEFAULT_DATABASE, DEFAULT_ROOT, loadBenchCatalog } from './load-catalog.js'
import { measure, median, type Sample } from './measure.js'
import { stageArgs } from '../test/helpers/run-script.js'

const argv = benchArgs('speed', `Usage: npx tsx bench/speed.ts [--runs N] [--database NAME] [--work DIR] [--paths N] [--stat-concurrency N] [--peer-sql FILE] [--only L]
  --only takes the rows' first words: floor, query, fingerprint, quiet, lists; and cpu, spare, fuse, run only when named`, {
  string: ['runs', 'database', 'work', 'paths', 'peer-sql', 'only', 'stat-concurrency'],
})
const runs = Number(argv.runs ?? 3)
const database: string = argv.database ?? DEFAULT_DATABASE
const work: string = argv.work ?? join(tmpdir(), 'caloprod-speed')
const wantedPaths = Number(argv.paths ?? 25000)
const concurrency = Number(argv['stat-concurrency'] ?? 64)
const only = benchOnly('speed', argv.only, ['floor', 'query', 'fingerprint', 'quiet', 'lists', 'cpu', 'spare', 'fuse'])
const RUN_TYPE = 'run3auau'
const STAT_DELAY_MS = 2

/** Documented figures of the peers (issue 26, the same bench catalog, this machine class): not run here. */
const PEERS = [
  'seed script (runProd.py, July 2025), first night: 180 s, 963 MB',
  'head script (macros calibrations/calo/calo_cdb/scripts/runProd.py), first night: 169 s, 545 MB; its SQL: 7.4 s for 562,447 rows',
  'head script\'s existence check (a process Pool of os.path.exists and getsize), 25,064 paths at 2 ms per stat: 61.7 s',
]

const stage = (name: string, ...args: string[]) => [process.execPath, ...stageArgs(name, ...args)]
const pgEnv = { PGDATABASE: database }

interface Row {
  name: string
  samples: Sample[]
  note: string
}
const rows: Row[] = []

/** Measures `command` once to warm up and `runs` times; `before` runs untimed before each. */
async function row(name: string, command: () => string[], note: (med: number) => string, env: NodeJS.ProcessEnv = {}, before?: () => Promise<void>) {
  if (only && !only.has(name.split(' ')[0])) return
  process.stderr.write(`speed: ${name} ...\n`)
  const samples: Sample[] = []
  for (let i = 0; i <= runs; i++) {
    await before?.()
    const sample = await measure(command(), env)
    if (sample.code !== 0) throw new Error(`${name}: exit ${sample.code}: ${sample.stderr.split('\n').slice(-3).join(' | ')}`)
    if (i > 0) samples.push(sample)
  }
  const med = median(samples.map((s) => s.wall))
  rows.push({ name, samples, note: note(med) })
  return med
}

/** psql copying `select` out, with the session settings the query stage uses. */
const psqlCopy = (select: string) => ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${select.replace(/\s+/g, ' ').trim()}) to '/dev/null' with (format csv)`]
const PSQL_ENV = { ...pgEnv, PGOPTIONS: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c jit=off' }

/**
 * Server CPU seconds of one statement (utime + stime of its backend from /proc, no parallel workers): steadier than
 * wall time on a shared machine. Needs the server on this machine; undefined otherwise.
 */
function serverCpu(select: string): number | undefined {
  const script = [
    'select pg_backend_pid() as pid \\gset', '\\setenv BPID :pid',
    "\\! awk '{print \"cpu\", $14 + $15}' /proc/$BPID/stat",
    psqlCopy(select).at(-1)!,
    "\\! awk '{print \"cpu\", $14 + $15}' /proc/$BPID/stat",
  ].join('\n')
  const out = execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
    input: script, env: { ...process.env, ...PSQL_ENV, PGOPTIONS: `${PSQL_ENV.PGOPTIONS} -c max_parallel_workers_per_gather=0` },
  }).toString()
  const ticks = [...out.matchAll(/^cpu (\d+)$/gm)].map((m) => Number(m[1]))
  return ticks.length === 2 ? (ticks[1] - ticks[0]) / 100 : undefined
}

/** An output with a process list of the first runs of reduce.csv holding about `wantedPaths` files, all but every 40th on disk. */
async function listsOutput(output: string): Promise<number> {
  const byRun = new Map<string, { tag: string; paths: string[] }>()
  for await (const line of createInterface({ input: createReadStream(layout.reduceCsv(output)) })) {
    const f = line.split(',')
    if (!f[4]?.startsWith('/')) continue
    const run = byRun.get(f[0]) ?? byRun.set(f[0], { tag: f[1], paths: [] }).get(f[0])!
    run.paths.push(f[4])
  }
  const chosen: string[] = []
  let paths = 0
  for (const [run, { paths: list }] of byRun) {
    if (paths >= wantedPaths) break
    chosen.push(`${run},${byRun.get(run)!.tag}`)
    paths += list.length
    for (const [i, path] of list.entries()) {
      if (i % 40 === 39) continue
      await mkdir(dirname(path), { recursive: true })
      if (!existsSync(path)) await writeFile(path, 'bench histogram file\n')
    }
  }
  await writeFile(layout.processCsv(output, RUN_TYPE), `runnumber,tag\n${chosen.join('\n')}\n`)
  return paths
}

async function main(): Promise<void> {
  await loadBenchCatalog({ scale: 1, database, root: DEFAULT_ROOT, reuse: true })
  await mkdir(work, { recursive: true })
  const [seedOut, currentOut] = [join(work, 'seed'), join(work, 'current')]
  const query = (output: string, rules: string, ...more: string[]) =>
    stage('query', '--rules', rules, '--run-type', RUN_TYPE, '--output', output, '--quiet', ...more)
  const fresh = (output: string) => async () => rm(layout.queryStamp(output), { force: true })

  const seedSql = buildSelection(BUILTIN_RULES.seed, RUN_TYPE, 500000)
  const currentSql = buildSelection(BUILTIN_RULES.current, RUN_TYPE, undefined)
  const seedFloor = await row('floor seed', () => psqlCopy(seedSql.select), () => 'its own statement, psql \\copy', PSQL_ENV)
  const seedQuery = await row('query seed', () => query(seedOut, 'seed'), (m) => ratio(m, seedFloor, 1.05, 'floor seed') + '; first night: the fingerprint beside the query', pgEnv, fresh(seedOut))
  const currentFloor = await row('floor current', () => psqlCopy(currentSql.select), () => 'its own statement, psql \\copy', PSQL_ENV)
  let peer: number | undefined
  if (argv['peer-sql']) {
    const text = (await readFile(String(argv['peer-sql']), 'utf8')).replace(/;\s*$/, '')
    peer = await row('floor peer', () => psqlCopy(text), () => `${argv['peer-sql']}, psql \\copy`, PSQL_ENV)
  }
  await row('query current', () => query(currentOut, 'current'), (m) => ratio(m, currentFloor, 1.1, 'floor current') + '; first night: the fingerprint beside the query', pgEnv, fresh(currentOut))
  if (peer !== undefined && currentFloor !== undefined) rows.push({ name: 'floor current / peer', samples: [], note: ratio(currentFloor, peer, 1.1, 'floor peer') })
  const check = await row('fingerprint current', () => psqlCopy(currentSql.fingerprint), () => 'the cheap check alone, psql \\copy', PSQL_ENV)
  const quiet = (m: number) => `unchanged catalog, the check only: ≤ 5 s + check ${check === undefined ? '(not measured)' : `${(5 + check).toFixed(2)} s: ${m <= 5 + check ? 'PASS' : 'FAIL'}`}`
  await row('quiet current', () => query(currentOut, 'current'), quiet, pgEnv)
  await row('quiet seed', () => query(seedOut, 'seed'), quiet, pgEnv)

  if (only?.has('spare')) {
    // One process per statement (no parallel workers, set on the bench database for these rows only): the 2-core
    // machine then has a core to spare beside the query, as a FileCatalog server with more cores has.
    const workers = (value: string) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
      `alter database "${database}" ${value === 'reset' ? 'reset max_parallel_workers_per_gather' : `set max_parallel_workers_per_gather = ${value}`}`],
    { env: { ...process.env, PGDATABASE: 'postgres' } })
    workers('0')
    try {
      const floor = await row('spare floor seed', () => psqlCopy(seedSql.select), () => 'its own statement, psql \\copy, no parallel workers', PSQL_ENV)
      await row('spare query seed', () => query(seedOut, 'seed'), (m) => ratio(m, floor, 1.05, 'spare floor seed') + '; first night, no parallel workers', pgEnv, fresh(seedOut))
    } finally {
      workers('reset')
    }
  }

  if (only?.has('cpu')) {
    // Interleaved, so a drift of the machine falls on both.
    const statements: [string, string][] = [['current', currentSql.select], ['fingerprint current', currentSql.fingerprint]]
    if (argv['peer-sql']) statements.push(['peer', (await readFile(String(argv['peer-sql']), 'utf8')).replace(/;\s*$/, '')])
    const cpu = new Map<string, number[]>(statements.map(([name]) => [name, []]))
    for (let i = 0; i < Math.max(runs, 1); i++) {
      for (const [name, select] of statements) cpu.get(name)!.push(serverCpu(select) ?? NaN)
    }
    const med = (name: string) => median(cpu.get(name)!)
    for (const [name] of statements) {
      const base = name === 'peer' ? undefined : cpu.has('peer') ? med('peer') : undefined
      rows.push({ name: `cpu ${name}`, samples: [], note: `server CPU s ${cpu.get(name)!.map((c) => c.toFixed(2)).join(', ')}; median ${med(name).toFixed(2)}` +
        (base && name === 'current' ? `; ${ratio(med(name), base, 1.1, 'peer')}` : '') })
    }
  }

  if (!only || only.has('lists') || only.has('fuse')) {
    const reduced = await measure(stage('reduce', '--run-type', RUN_TYPE, '--output', seedOut, '--quiet'))
    if (reduced.code !== 0) throw new Error(`reduce: ${reduced.stderr}`)
    const paths = await listsOutput(seedOut)
    const lists = (...wrap: string[]) => () => [...wrap, ...stage('lists', '--run-type', RUN_TYPE, '--output', seedOut, '--min-events', '0',
      '--stat-concurrency', String(concurrency), '--quiet')]
    // The thread pool as the Taskfile's lists task sizes it: without it the stage starts itself again with the pool
    // it needs (tasks/main.ts), a second node start the nightly run does not pay.
    const pool = { UV_THREADPOOL_SIZE: String(concurrency) }
    const floor = (paths * STAT_DELAY_MS) / 1000 / concurrency
    await row('lists 0 ms', lists(), () => `${paths} paths, ${concurrency} stats in flight`, pool)
    const strace = ['strace', '-f', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=statx,newfstatat,stat,lstat',
      '-e', `inject=statx,newfstatat,stat,lstat:delay_exit=${STAT_DELAY_MS * 1000}`]
    // strace stops each traced call twice and serves the stops one at a time: its own cost, without the delay.
    const traced = await row('lists traced', lists(...strace.slice(0, -2)), () => `${paths} paths under strace without delay: the tracing's own cost`, pool)
    await row(`lists ${STAT_DELAY_MS} ms`, lists(...strace), (m) =>
      `${paths} paths; floor ${paths} × ${STAT_DELAY_MS} ms ÷ ${concurrency} = ${floor.toFixed(2)} s; ${ratio(m, floor, 2, 'floor')}; ` +
      `${ratio(m, traced === undefined ? undefined : traced + floor, 2, 'traced + floor')}; ` +
      `head's check on 25,064 paths: 61.7 s (documented) = ${(61.7 / 25064 * paths / m).toFixed(1)}× this`, pool)
    if (only?.has('fuse')) {
      // The same paths through bench/slow-fs: the delay spent in parallel, as on the real file system.
      const own = await withSlowFs(0, () => row('fuse 0 ms', lists(), () => `${paths} paths through bench/slow-fs without delay: its own cost`, pool))
      await withSlowFs(STAT_DELAY_MS, () => row(`fuse ${STAT_DELAY_MS} ms`, lists(), (m) =>
        `${paths} paths, ${STAT_DELAY_MS} ms a lookup; ${ratio(m, floor, 2, 'floor')}; ${ratio(m, own === undefined ? undefined : own + floor, 2, 'fuse 0 ms + floor')}; ` +
        `the delay's own cost ${own === undefined ? '?' : (m - own).toFixed(2)} s against the floor's ${floor.toFixed(2)} s`, pool))
    }
  }

  const out = ['| row | wall s (median) | min–max | peak RSS MB | notes |', '| --- | ---: | ---: | ---: | --- |']
  for (const r of rows) {
    const walls = r.samples.map((s) => s.wall)
    out.push(r.samples.length
      ? `| ${r.name} | ${median(walls).toFixed(2)} | ${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)} | ${median(r.samples.map((s) => s.rssMb)).toFixed(0)} | ${r.note} |`
      : `| ${r.name} | | | | ${r.note} |`)
  }
  const os = await import('node:os')
  process.stdout.write(`${out.join('\n')}\n\npeers (documented, not run):\n${PEERS.map((p) => `- ${p}`).join('\n')}\n\n` +
    `machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString().slice(0, 16)}Z; ` +
    `median of ${runs} after one warm-up\n`)
  void seedQuery
}

/**
 * Runs `fn` with bench/slow-fs (built here with go) mounted over the bench's files, `delayMs` per lookup of a file,
 * serving them from a bind mount of the same directory; unmounts both after. Needs root and /dev/fuse.
 */
async function withSlowFs<T>(delayMs: number, fn: () => Promise<T>): Promise<T> {
  const binary = join(work, 'slow-fs')
  const backing = join(work, 'slow-fs-backing')
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: join(import.meta.dirname, 'slow-fs'), stdio: 'inherit' })
  await mkdir(backing, { recursive: true })
  execFileSync('mount', ['--bind', DEFAULT_ROOT, backing])
  const daemon = spawn(binary, ['-delay', `${delayMs}ms`, backing, DEFAULT_ROOT], { stdio: ['ignore', 'inherit', 'inherit'] })
  const exited = once(daemon, 'exit')
  try {
    const mounted = async () => (await readFile('/proc/self/mounts', 'utf8')).split('\n').some((line) => line.split(' ')[1] === DEFAULT_ROOT && line.includes('fuse'))
    while (!(await mounted())) {
      if (daemon.exitCode !== null) throw new Error(`slow-fs exited ${daemon.exitCode} before mounting ${DEFAULT_ROOT}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    return await fn()
  } finally {
    daemon.kill('SIGTERM')
    await exited
    execFileSync('umount', [backing])
  }
}

function ratio(value: number | undefined, base: number | undefined, target: number, what: string): string {
  if (value === undefined || base === undefined) return `${what} not measured`
  const r = value / base
  return `${r.toFixed(2)}× ${what} (target ≤ ${target}×: ${r <= target ? 'PASS' : 'FAIL'})`
}

try {
  await main()
} catch (err) {
  process.stderr.write(`speed: ${(err as Error).message}\n`)
  process.exitCode = 1
}
