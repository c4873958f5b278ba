// A check stopped while filter-datasets runs (a signal, an internal error): the programs it started end before it
// does, and its working folder under TMPDIR goes with it (lib/spawn-group.ts withOwnGroups, lib/files/atomic.ts ownTemp).
// One killed by SIGKILL cannot clean up: the next check, once it holds the lock, removes the folder (lib/cdb/work-dir.ts).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { calls, FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, runListCsv } from './helpers/fake-cdb.js'
import { alive } from './helpers/processes.js'
import { runScript, startScript } from './helpers/run-script.js'
import { processInfo } from '../lib/lock.js'

const RUNS: [number, string][] = [[66500, 'v8'], [66501, 'v8'], [66502, 'v8'], [66503, 'v9']]

/** caloprod's own under TMPDIR (tsx keeps its cache there too). */
const ours = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('caloprod-'))


/** A check of four runs in two shards whose every lookup takes 3 s, started as cron starts it; `env` added. */
function slowCheck(t: Test, env: NodeJS.ProcessEnv = {}) {
  const root = t.testdir()
  const output = join(root, 'out')
  const tmp = join(root, 'tmp')
  mkdirSync(output)
  mkdirSync(tmp)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUNS))
  const cdb = fakeCdb(root, { default: 'current', runs: {} })
  const started = startScript('check', ['--output', output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, '--jobs', '2'], {
    ...fakeCdbEnv(cdb, { FAKE_CDB_DELAY_MS: '3000' }), TMPDIR: tmp, OFFLINE_MAIN: '', NOPAYLOADCLIENT_CONF: undefined, ...env,
  })
  return { ...started, cdb, tmp, output }
}

/** Waits until filter-datasets has started (its calls file names it), or the stage has ended. */
async function filterDatasetsStarted(c: ReturnType<typeof slowCheck>): Promise<number[]> {
  let ended = false
  void c.done.then(() => (ended = true))
  while (!ended && calls(c.cdb).length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  return calls(c.cdb).map((line) => Number(line.split(' ')[0]))
}

t.test('SIGTERM while filter-datasets runs: it is stopped, the working folder removed, then the stage exits 143', async (t) => {
  const c = slowCheck(t)
  const pids = await filterDatasetsStarted(c)
  t.ok(pids.length > 0, 'filter-datasets was running')
  c.child.kill('SIGTERM')
  const result = await c.done
  t.equal(result.code, 143, result.stderr)
  t.same(ours(c.tmp), [], `nothing left under TMPDIR: ${result.stderr}`)
  t.same(pids.filter(alive), [], 'no filter-datasets outlived the stage')
  t.notOk(existsSync(join(c.output, 'run3auau-process.csv')), 'nothing written')
})

t.test('an internal error while filter-datasets runs: the same', async (t) => {
  // An error no code catches, thrown in the stage's process only (NODE_OPTIONS reaches filter-datasets too).
  // Beside the test's folder, which slowCheck makes afresh.
  const preload = join(mkdtempSync(join(tmpdir(), 'caloprod-test-boom-')), 'boom.mjs')
  t.teardown(() => rmSync(dirname(preload), { recursive: true, force: true }))
  // Thrown once filter-datasets has started (its calls file names it), however long the stage took to get there.
  writeFileSync(preload, [
    "import { readFileSync } from 'node:fs'",
    "const started = () => { try { return readFileSync(process.env.FAKE_CDB_CALLS, 'utf8') !== '' } catch { return false } }",
    "if (process.argv.some((a) => a.endsWith('check.ts'))) {",
    "  const poll = setInterval(() => { if (started()) { clearInterval(poll); throw new TypeError('boom') } }, 20)",
    '  poll.unref()',
    '}',
  ].join('\n'))
  const c = slowCheck(t, { NODE_OPTIONS: `--import ${preload}` })
  const pids = await filterDatasetsStarted(c)
  const result = await c.done
  t.ok(pids.length > 0, `filter-datasets was running: ${result.stderr}`)
  t.equal(result.code, 1, result.stderr)
  t.match(result.stderr, /boom/)
  t.same(ours(c.tmp), [], 'nothing left under TMPDIR')
  t.same(pids.filter(alive), [], 'no filter-datasets outlived the stage')
})

t.test('SIGKILL while filter-datasets runs: the next check kills the filter-datasets it left and removes its working folder, and no live one', async (t) => {
  // Lookups of 10 minutes: the calls left running end only if something ends them.
  const waiting = join(t.testdirName, 'waiting')
  const c = slowCheck(t, { FAKE_CDB_DELAY_MS: '600000', FAKE_CDB_WAITING: waiting })
  t.ok((await filterDatasetsStarted(c)).length > 0, 'filter-datasets was running')
  // Both calls of --jobs 2 waiting in their first lookup (10 minutes: no third starts), so the count killed is known.
  // Not only started: one still writing its first lines when the check dies gets EPIPE and ends by itself, as the
  // real tool ends of SIGPIPE, and the next check finds one to kill (seen under load).
  const inLookup = () => new Set(existsSync(waiting) ? readFileSync(waiting, 'utf8').split('\n').filter(Boolean) : []).size
  while (inLookup() < 2) await new Promise((resolve) => setTimeout(resolve, 50))
  c.child.kill('SIGKILL')
  await c.done
  // Each in a process group of its own.
  const pids = calls(c.cdb).map((line) => Number(line.split(' ')[0]))
  t.equal(pids.length, 2)
  // Should the next check fail to end them, ended here, by their ids.
  t.teardown(() => pids.filter(alive).forEach((pid) => process.kill(-pid, 'SIGKILL')))
  t.same(pids.filter(alive), pids, 'the killed check left its filter-datasets running')
  const left = ours(c.tmp)
  t.equal(left.length, 1, `the killed check left its working folder: ${left}`)
  t.match(left[0], new RegExp(`^caloprod-check-${c.child.pid}-`), 'named after its process')
  // A live check's folder (this process's), and a folder of a dead process whose pid is alive again (another start).
  const start = processInfo(process.pid)!.start
  const live = `caloprod-check-${process.pid}-${start}-aB3dE9`
  const reused = `caloprod-check-${process.pid}-${Number(start) + 1}-Zz0000`
  const other = 'caloprod-checkout'
  for (const name of [live, reused, other]) mkdirSync(join(c.tmp, name))
  // A person looking into the folder: a program working there, in the session of whoever started it.
  const looking = spawn('sleep', ['600'], { cwd: join(c.tmp, left[0]), stdio: 'ignore' })
  t.teardown(() => void looking.kill('SIGKILL'))
  // TMPDIR through a link this time: /proc names a process's folder with links resolved.
  const linked = join(dirname(c.tmp), 'tmp-link')
  symlinkSync(c.tmp, linked)
  const next = await runScript('check', ['--output', c.output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, '--verbose'], {
    ...fakeCdbEnv(c.cdb), TMPDIR: linked, OFFLINE_MAIN: '', NOPAYLOADCLIENT_CONF: undefined,
  })
  t.equal(next.code, 0, next.stderr)
  t.match(next.stderr, new RegExp(`killed ${pids.length} process(es)? \\(filter-datasets\\) that checks killed before them left running`))
  t.match(next.stderr, /removed 2 working folders of checks that were killed/)
  // SIGKILL is sent before the check goes on: each ends at once (a zombie until pid 1 reaps it counts as ended).
  t.same(pids.filter(alive), [], 'no filter-datasets of the killed check runs on')
  t.ok(alive(looking.pid!), "a program a person started there is left alone")
  t.same(ours(c.tmp).sort(), [live, other].sort(), 'the killed check\'s folder and the reused pid\'s removed, the live one and another name kept')
})
