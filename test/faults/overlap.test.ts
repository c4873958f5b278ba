// Overlap: five nightly runs started at once on the same output directory (a cron job that fired twice, a person
// running it by hand meanwhile). One runs the night; the other four exit 3, each with one line naming the holder;
// the ledger and the queue have each run once.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { processAlive } from '../../lib/files/atomic.js'
import { readLedger } from '../../lib/files/ledger.js'
import { layout } from '../../lib/files/layout.js'
import { freshDatabase } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { buildBundles, startBuilt } from '../helpers/run-script.js'
import { listedRuns } from '../helpers/listed-runs.js'

// Started from the bundles, as the Taskfile starts them.
t.before(buildBundles)

/** How many `task submit` start at once; the README's reliability table cites it. */
export const OVERLAPPING_RUNS = 5

t.test(`${OVERLAPPING_RUNS} task submit at once on one output: one runs, the others exit 3 naming it`, async (t) => {
  // A short directory: the Taskfile's labels carry the output path into checksum file names (255 bytes at most).
  const root = mkdtempSync(join(tmpdir(), 'caloprod-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(root, 'files'), runs: { run2pp: 1, run2auau: 1, run3auau: 8 } })
  await createCatalogFiles(files)
  const out = join(root, 'out')
  const state = join(root, 'condor.json')
  const env = {
    ...fakeCdbEnv(fakeCdb(root)),
    ...fakeCondorEnv(state),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(root, '.task'),
  }
  // As cron runs it: --silent -x, so the stage's exit code is the runner's.
  const args = ['--silent', '-x', 'submit', 'RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(root, 'condor-log')}`]
  const started = Array.from({ length: OVERLAPPING_RUNS }, () => startBuilt('task', args, env))
  const results = await Promise.all(started.map(async ({ child, done }) => ({ ...(await done), pid: child.pid })))

  const codes = results.map((r) => r.code).sort()
  t.same(codes, [0, ...Array(OVERLAPPING_RUNS - 1).fill(3)], `one 0, the rest 3: ${results.map((r) => `${r.code}: ${r.stderr}`).join('\n')}`)
  const winner = results.find((r) => r.code === 0)!
  t.match(winner.stdout, /^submit: \d+ runs submitted to cluster 1 /m)
  const holders = new Set<string>()
  for (const loser of results.filter((r) => r.code === 3)) {
    t.equal(loser.stdout, '', 'a locked run prints nothing on stdout')
    const named = loser.stderr.split('\n').filter((line) => / is in use by /.test(line))
    t.equal(named.length, 1, `one line names the holder: ${loser.stderr}`)
    t.match(named[0], new RegExp(`^caloprod \\w+: ${out} is in use by .*the pipeline "[^"]*\\.build/task\\.js --silent -x submit [^"]*" \\(pid \\d+\\)`))
    holders.add(/the pipeline "[^"]*" \(pid (\d+)\)/.exec(named[0])?.[1] ?? '')
  }
  t.same([...holders], [String(winner.pid)], 'every locked run names the one that ran')

  const runs = listedRuns(out)
  t.ok(runs.length > 3, `${runs.length} runs to submit`)
  t.same(readFakeState(state).jobs.map((j) => j.CaloprodRunTag).sort(), runs, 'the queue has each run once')
  t.equal(readFakeState(state).calls.filter((c) => c.program === 'condor_submit').length, 1, 'condor_submit ran once')
  const ledger = (await readLedger(layout.ledgerCsv(out))).rows
  t.same(ledger.filter((r) => r.state === 'submitted').map((r) => `${r.runnumber}_${r.tag}`).sort(), runs, 'the ledger has each run once')
  t.same(ledger.filter((r) => r.state === 'submitting').map((r) => `${r.runnumber}_${r.tag}`).sort(), runs, 'announced once each')
})

t.test('a killed stage that is a zombie (its parent killed too, init not yet reaping) does not hold the lock', async (t) => {
  // A shell and its child in a group of their own, as a runner and its stage; the whole group is killed.
  const group = spawn('/bin/sh', ['-c', 'sleep 100 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
  const pid = await new Promise<number>((resolve) => group.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  process.kill(-group.pid!, 'SIGKILL')
  await new Promise((resolve) => group.on('close', resolve))
  const stateOf = (): string => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    } catch {
      return '' // Reaped already: nothing left to mistake for a live process.
    }
  }
  // SIGKILL takes effect when the kernel next schedules the child: on a busy machine it may still show R a moment.
  let state = stateOf()
  for (let waited = 0; state === 'R' && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    state = stateOf()
  }
  t.not(state, 'S', 'the child was killed')
  t.notOk(processAlive(pid), `a dead process is not alive (state ${state || 'reaped'})`)
  t.ok(processAlive(process.pid), 'this process is')
})
