// The progress line of query, check and lists: drawn on a terminal (a pseudo-terminal from util-linux's
// `script`), never without one, never with --quiet, never in the log.
import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { QUERY_TABLE, type QueryRow } from '../lib/files/query-csv.js'
import { progressCounter, terminalProgress } from '../lib/progress.js'
import { makeCatalog } from './helpers/catalog.js'
import { freshDatabase } from './helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, runListCsv } from './helpers/fake-cdb.js'
import { ROOT, runScript, stageArgs } from './helpers/run-script.js'

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`
const ERASE = '\r\x1b[K'

/** Runs `tasks/<stage>.ts ARGS` under a pseudo-terminal; what the terminal showed (stdout and stderr together). */
async function onTerminal(stage: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const command = [process.execPath, ...stageArgs(stage, ...args)].map(quote).join(' ')
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env }, cwd: ROOT })
  return stdout
}

const logText = (output: string) => readdirSync(join(output, 'log')).filter((name) => name.endsWith('.log')).map((name) => readFileSync(join(output, 'log', name), 'utf8')).join('')

/** An output directory for lists: 40 files of two runs on disk, one missing. */
function listsInput(t: Test): string {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const rows: QueryRow[] = []
  for (const run of [66500, 66501]) {
    for (let segment = 0; segment < 20; segment++) {
      const path = join(root, 'lustre', `HIST_CALOQA_${run}-${segment}.root`)
      if (!(run === 66501 && segment === 3)) {
        mkdirSync(join(root, 'lustre'), { recursive: true })
        writeFileSync(path, 'root file')
      }
      rows.push({ runnumber: run, tag: 'v8', segment, events: 100000, full_file_path: path, time: '2025-07-01 12:00:00' })
    }
  }
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, rows))
  writeFileSync(join(output, 'run3auau-process.csv'), 'runnumber,tag\n66500,v8\n66501,v8\n')
  return output
}

t.test('lists draws "files checked of total" on a terminal only, and keeps it out of the log', async (t) => {
  const output = listsInput(t)
  const shown = await onTerminal('lists', ['--output', output])
  t.match(shown, `${ERASE}lists: `, 'the line is drawn in place')
  t.match(shown, /lists: 40 of 40 files checked/)
  t.match(shown, /lists: 2 lists \(2 written\); 1 file missing/, 'the summary still follows')
  t.notMatch(logText(output), /files checked|\x1b/, 'never in the log')

  const quiet = await onTerminal('lists', ['--output', output, '--quiet'])
  t.notMatch(quiet, /files checked|\x1b\[K/, '--quiet: no progress')

  const piped = await runScript('lists', ['--output', output])
  t.equal(piped.code, 0)
  t.equal(piped.stderr, '', 'no terminal: nothing on stderr')
  t.notMatch(piped.stdout, /files checked|\r/)
})

t.test('check draws "runs answered of total", a rate and the time left', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const runs = Array.from({ length: 30 }, (_, i) => [66500 + i, 'v8'] as [number, string])
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(runs))
  const cdb = fakeCdb(root, { default: 'missing', runs: {} })
  const args = ['--output', output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, '--jobs', '2']
  const shown = await onTerminal('check', args, fakeCdbEnv(cdb))
  t.match(shown, `${ERASE}check: `)
  t.match(shown, /check: 30 of 30 runs answered(, [\d.]+\/s)?/)
  t.match(shown, /check: 30 runs, 0 settled, 30 asked/)
  t.notMatch(logText(output), /runs answered|\x1b/)

  const piped = await runScript('check', args, fakeCdbEnv(cdb))
  t.equal(piped.code, 0, piped.stderr)
  t.equal(piped.stderr, '')
})

t.test('query draws the rows received', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await makeCatalog(sql, Array.from({ length: 12 }, (_, segment) => ({ run: 66500, tag: 'v8', segment, events: 100000 })))
  const output = join(t.testdir(), 'out')
  const shown = await onTerminal('query', ['--db-url', url, '--output', output])
  t.match(shown, /\r\x1b\[Kquery: 12 rows received/)
  t.match(shown, /query: 12 files of 1 run\b/)
  const piped = await runScript('query', ['--db-url', url, '--output', output])
  t.equal(piped.code, 0, piped.stderr)
  t.equal(piped.stderr, '')
})

t.test('a wall clock stepped back an hour neither stops the redraws nor the rate (durations by the monotonic clock)', async (t) => {
  const written: string[] = []
  // The wall clock as NTP steps it back an hour after the first draw; then more than the redraw interval passes.
  const realNow = Date.now
  let step = 0
  Date.now = () => realNow() - step
  t.teardown(() => void (Date.now = realNow))
  const progress = terminalProgress((text) => written.push(text))
  const count = progressCounter(progress, 'check', 'runs answered', 100)
  count(10)
  step = 3600_000
  const drawn = performance.now()
  while (performance.now() - drawn < 150) await setTimeout(20)
  count(20)
  Date.now = realNow
  t.equal(written.length, 2, 'drawn again')
  t.match(written.at(-1), /^\r\x1b\[Kcheck: 20 of 100 runs answered, [\d.]+\/s, .* left$/)
})

t.test('the line: redrawn at most every 100 ms, erased before other output; the counter gives rate and time left', async (t) => {
  let clock = 0
  const written: string[] = []
  const progress = terminalProgress((text) => written.push(text), () => clock)
  const count = progressCounter(progress, 'check', 'runs answered', 100, () => clock)
  clock = 1000
  count(10)
  clock = 1050
  count(11)
  t.same(written, [`${ERASE}check: 10 of 100 runs answered, 10/s, 9 s left`], 'the second draw within 100 ms is skipped')
  clock = 2000
  count(20)
  t.equal(written.at(-1), `${ERASE}check: 20 of 100 runs answered, 10/s, 8 s left`)
  clock = 2010
  count(100)
  t.equal(written.at(-1), `${ERASE}check: 100 of 100 runs answered, 50/s`, 'the complete count is always drawn')
  progress.clear()
  progress.clear()
  t.same(written.slice(3), [ERASE], 'cleared once')
  clock = 500000
  const rows = progressCounter(progress, 'query', 'rows received')
  rows(51200)
  t.equal(written.at(-1), `${ERASE}query: 51200 rows received`)
})
