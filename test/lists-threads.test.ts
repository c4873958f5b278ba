// The lists stage's stats are as parallel as --stat-concurrency says: libuv runs them on its thread pool (4
// threads unless UV_THREADPOOL_SIZE was set when node started), so the stage sizes the pool by starting itself
// again (tasks/main.ts). Seen from outside with strace: each stat slowed down, the threads that make them counted.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'
import { collectOutput, ROOT, runScript, stageArgs } from './helpers/run-script.js'
import { straceWorks } from './helpers/strace.js'

/** An output directory whose process list names one run of `files` files on disk under `store`. */
function outputWith(root: string, files: number) {
  const output = join(root, 'out')
  const store = join(root, 'store')
  mkdirSync(output)
  mkdirSync(store)
  const rows = Array.from({ length: files }, (_, segment) => {
    const path = join(store, `HIST_CALOQA_run3auau_v1-00066500-${String(segment).padStart(5, '0')}.root`)
    writeFileSync(path, 'root file')
    return { runnumber: 66500, tag: 'v1', segment, events: 1000, full_file_path: path, time: '2025-07-01 12:00:00' }
  })
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, rows))
  writeFileSync(join(output, 'run3auau-process.csv'), 'runnumber,tag\n66500,v1\n')
  return { output, store }
}

// Both ways a stage starts: as the Taskfile starts it (tasks/start.cjs: the relaunch goes through it again) and
// with tsx's ES-module loader, as `npx tsx tasks/lists.ts` does.
const starts: [string, (...args: string[]) => string[]][] = [
  ['tasks/start.cjs', (...args) => stageArgs('lists', ...args)],
  ['node --import tsx', (...args) => ['--import', 'tsx', join(ROOT, 'tasks', 'lists.ts'), ...args]],
]
for (const [how, nodeArgs] of starts) {
  t.test(`${how}: with no UV_THREADPOOL_SIZE, --stat-concurrency 16 makes more than libuv's default 4 threads stat at once`, { skip: straceWorks() }, async (t) => {
    const dir = t.testdir()
    const { output, store } = outputWith(dir, 200)
    const trace = join(dir, 'trace')
    // 10 ms a stat: each thread stays busy long enough for every idle one to take the next path.
    const child = spawn('strace', ['-f', '-o', trace, '-e', 'trace=statx,newfstatat,stat,lstat', '-e', 'inject=statx,newfstatat,stat,lstat:delay_exit=10000',
      process.execPath, ...nodeArgs('--output', output, '--min-events', '0', '--stat-concurrency', '16')],
    { cwd: ROOT, env: { ...process.env, UV_THREADPOOL_SIZE: undefined }, stdio: ['ignore', 'pipe', 'pipe'] })
    const result = await collectOutput(child).done
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, /^lists: 1 list \(1 written\); 0 files missing/, 'the summary comes through the relaunch')
    const threads = new Set<string>()
    for (const line of readFileSync(trace, 'utf8').split('\n')) if (line.includes(store)) threads.add(line.split(' ')[0])
    t.ok(threads.size > 4 && threads.size <= 16, `the files were checked by ${threads.size} threads`)
  })
}

t.test('a stage started again for its thread pool exits with its code and says its error once', async (t) => {
  const output = join(t.testdir(), 'out')
  mkdirSync(output)
  const result = await runScript('lists', ['--output', output, '--stat-concurrency', '8'], { UV_THREADPOOL_SIZE: undefined })
  t.equal(result.code, 1)
  t.equal(result.stderr.match(/run3auau-process\.csv/g)?.length, 1, result.stderr)
})
