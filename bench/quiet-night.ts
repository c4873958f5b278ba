// A quiet night on the demo's catalog, as cron runs it: `task --silent -x submit` through go-task and the
// Taskfile, after a first night that submitted every run; each measured night is paired with a `task query` just
// before it, so the figure is the night's cost over the query, once every map is current in the CDB (issue 23's target: query + 5 s). The catalog is
// the demo's, in the embedded PostgreSQL (PGlite), with the fake CDB and scheduler of test/fakes.
//   npx tsx bench/quiet-night.ts [NIGHTS]      (default 5; go-task on PATH)
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { createCatalogFiles } from '../test/demo/files-on-disk.js'
import { startEmbeddedPostgres } from '../test/demo/embedded.js'
import { loadCatalog } from '../test/demo/load.js'
import { benchCount } from './args.js'

const ROOT = join(import.meta.dirname, '..')
const FAKES = join(ROOT, 'test', 'fakes')
const nights = benchCount('quiet-night', 'Usage: npx tsx bench/quiet-night.ts [NIGHTS]   (default 5; go-task on PATH)', 5)
const dir = mkdtempSync(join(tmpdir(), 'caloprod-quiet-'))
const server = await startEmbeddedPostgres()
try {
  const sql = postgres(server.url, { onnotice: () => {} })
  try {
    await createCatalogFiles((await loadCatalog(sql, { root: join(dir, 'files') })).files)
  } finally {
    await sql.end({ timeout: 5 })
  }
  writeFileSync(join(dir, 'cdb.json'), '{"default":"missing","runs":{}}\n')
  const env = {
    ...process.env,
    PATH: `${FAKES}:${process.env.PATH}`,
    CALOPROD_DB_URL: server.url,
    CALOPROD_BIN_FILTER_DATASETS: join(FAKES, 'CaloCDB-FilterDatasets'),
    CALOPROD_BIN_GENSTATUS: join(FAKES, 'CaloCDB-GenStatus'),
    FAKE_CDB_STATE: join(dir, 'cdb.json'),
    FAKE_CONDOR_STATE: join(dir, 'condor.json'),
    TASK_TEMP_DIR: join(dir, '.task'),
  }
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${join(dir, 'out')}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`]
  // Started asynchronously: the embedded PostgreSQL answers from this process's event loop.
  // Wall seconds, and the CPU seconds (user + system) of go-task and every process it started, which a busy
  // machine does not inflate as it does the wall time: on an idle one the two are close (the stages run in turn).
  const timed = async (...args: string[]): Promise<{ wall: number; cpu: number }> => {
    const started = performance.now()
    const { stderr } = await promisify(execFile)('/usr/bin/time', ['-f', '%U %S', 'task', '--silent', ...args, ...vars], { cwd: ROOT, env })
    const [user, system] = stderr.trim().split('\n').at(-1)!.split(' ').map(Number)
    return { wall: (performance.now() - started) / 1000, cpu: user + system }
  }
  await timed('-x', 'submit')
  // The steady state the target speaks of: last night's jobs ran and their maps reached the CDB.
  writeFileSync(join(dir, 'cdb.json'), '{"default":"current","runs":{}}\n')
  await timed('-x', 'submit')
  const query: { wall: number; cpu: number }[] = []
  const night: { wall: number; cpu: number }[] = []
  for (let i = 0; i < nights; i++) {
    query.push(await timed('query'))
    night.push(await timed('-x', 'submit'))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  for (const kind of ['wall', 'cpu'] as const) {
    const [q, n] = [median(query.map((x) => x[kind])), median(night.map((x) => x[kind]))]
    process.stdout.write(`${kind}: quiet night (task -x submit), median of ${nights}: ${n.toFixed(2)} s; task query before each: ` +
      `${q.toFixed(2)} s; night - query: ${(n - q).toFixed(2)} s (target ≤ 5 s)\n`)
  }
} finally {
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
}
