// Several run types from one project directory, each with its own cron line (docs/operations.md, "Several run
// types"). In their default output directories (OUTPUT is the run type's name) they share only go-task's .task/, a
// checksum file each (reduce's label names the run type), the condor log folder and the scheduler: one after the
// other, one night of the one neither redoes nor skips the other's work; at once, both succeed, and one run type's
// night and looks are never kept out by the other's lock. Given one OUTPUT, they took turns overwriting its files
// (report.html, last-night.json, condor/, query.csv); now the run type that did not run there first is refused in
// one line, and nothing of the directory changes. The project is a copy, so OUTPUT's default lands in it as under
// cron. The first test fails before the run type's mark (lib/files/run-type-mark.ts); the others keep what was
// found fine (the second also checks that each directory is marked).
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { layout } from '../../lib/files/layout.js'
import { calls } from '../helpers/fake-cdb.js'
import { readFakeState } from '../helpers/fake-condor.js'
import { nightWorld } from '../helpers/night-world.js'
import { ROOT, runTask, startTask } from '../helpers/run-script.js'
import { snapshot } from '../helpers/snapshot.js'

t.setTimeout(900_000)

/** A copy of the project in `dir` (its code, the Taskfile, node_modules linked), where go-task runs as cron runs it. */
function project(dir: string): string {
  const root = join(dir, 'project')
  for (const entry of ['Taskfile.yml', 'tasks', 'lib', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, entry), join(root, entry), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'))
  return root
}

/** The lock, left out of snapshots: the pipeline's watcher removes it a moment after go-task ends (lib/lock.ts). */
const isLock = (path: string) => /^\.caloprod\.lock/.test(path)

/** The cron line of `runType`, with the world's condor log folder. */
const cronLine = (dir: string, runType: string, ...vars: string[]) =>
  ['--silent', '-x', 'submit', 'report', `RUN_TYPE=${runType}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`, 'JOBS=2', ...vars]

t.test('one OUTPUT for two run types: the second is refused in one line, and the first\'s directory is left as it was', async (t) => {
  const world = await nightWorld(t, 'run-types-shared', { run3auau: 3, run3pp: 3 })
  const root = project(world.dir)
  const calo = join(root, 'calo')
  const first = await runTask(cronLine(world.dir, 'run3auau', 'OUTPUT=calo'), world.env, root)
  t.equal(first.code, 0, first.stderr)
  const before = snapshot(calo, isLock)

  const second = await runTask(cronLine(world.dir, 'run3pp', 'OUTPUT=calo'), world.env, root)
  t.equal(second.code, 2, `a usage error (it ran: run3pp's night overwrote run3auau's page and record) ${second.stderr}`)
  const refusal = `--output ${calo} is run type run3auau's (${layout.runTypeMark(calo)}), not run3pp's: give each run type its own output directory`
  t.match(second.stderr, `caloprod query: ${refusal}`, 'the first stage says why, naming the mark')
  t.match(second.stderr, `caloprod report: ${refusal}`, 'and the report submit defers, which writes no page there')
  t.same(second.stderr.match(/^caloprod \w+: /gm), ['caloprod query: ', 'caloprod report: '], 'no other stage ran')
  t.same(snapshot(calo, isLock), before, 'nothing in calo changed: its page, its record of the nights, its log, condor/')

  // A person's look with the wrong run type is refused the same way; the right one reads as before.
  for (const stage of ['status', 'report']) {
    const look = await runTask(['--silent', '-x', stage, 'RUN_TYPE=run3pp', 'OUTPUT=calo'], world.env, root)
    t.equal(look.code, 2, stage)
    t.match(look.stderr, `caloprod ${stage}: ${refusal}`, stage)
  }
  t.equal((await runTask(['--silent', '-x', 'status', 'RUN_TYPE=run3auau', 'OUTPUT=calo'], world.env, root)).code, 0)
  t.same(snapshot(calo, isLock), before, 'still nothing changed')
})

t.test('two run types in their default output directories, one after the other: each night sees only its own', async (t) => {
  const world = await nightWorld(t, 'run-types-default', { run3auau: 3, run3pp: 3 })
  const root = project(world.dir)
  const env = { ...world.env, TASK_TEMP_DIR: undefined } // go-task's .task/ in the project directory, as under cron
  for (const runType of ['run3auau', 'run3pp']) {
    const night = await runTask(cronLine(world.dir, runType), env, root)
    t.equal(night.code, 0, night.stderr)
    t.match(night.stdout, /^submit: \d+ runs submitted to cluster \d+ /m, runType)
    t.match(readFileSync(layout.reportHtml(join(root, runType)), 'utf8'), `<h1>caloprod ${runType}</h1>`)
    t.equal(readFileSync(layout.runTypeMark(join(root, runType)), 'utf8'), `${runType}\n`, 'the directory is marked as the run type\'s')
  }
  t.same(readdirSync(join(root, '.task', 'checksum')).map((name) => name.split('-').slice(0, 2).join('-')).sort(),
    ['reduce-run3auau', 'reduce-run3pp'], 'a checksum file for each run type\'s reduce')
  // The next night of each: its own reduce up to date (not redone, nor marked up to date by the other's), nothing sent twice.
  for (const runType of ['run3auau', 'run3pp']) {
    const before = snapshot(join(root, runType))
    const night = await runTask([...cronLine(world.dir, runType), '--verbose'], env, root)
    t.equal(night.code, 0, night.stderr)
    t.match(night.stderr, new RegExp(`Task "reduce-${runType}-${runType}-[^"]*" is up to date`), runType)
    t.match(night.stdout, /^submit: nothing to submit; \d+ in flight$/m, runType)
    t.same(Object.keys(snapshot(join(root, runType))).sort(), Object.keys(before).sort(), `${runType}: no file came or went`)
  }
})

/** Waits for `condition`, polling; the test's own time-out bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100))
}

t.test('two run types\' cron lines at once from one project directory: both nights succeed, each in its own directory', async (t) => {
  const world = await nightWorld(t, 'run-types-together', { run3auau: 3, run3pp: 3 })
  const root = project(world.dir)
  const env = { ...world.env, TASK_TEMP_DIR: undefined }
  const nights = await Promise.all(['run3auau', 'run3pp'].map((runType) => startTask(cronLine(world.dir, runType), env, { cwd: root }).done))
  for (const night of nights) t.equal(night.code, 0, night.stderr)
  const jobs = readFakeState(world.condor).jobs
  for (const runType of ['run3auau', 'run3pp']) {
    const out = join(root, runType)
    const mine = jobs.filter((job) => job.CaloprodOutput === out)
    t.equal(mine.length, readdirSync(layout.datasetsDir(out)).length, `${runType}: a job for each of its lists, none of the other's`)
    t.match(readFileSync(layout.reportHtml(out), 'utf8'), `<h1>caloprod ${runType}</h1>`)
  }
  t.equal(new Set(jobs.map((job) => job.UserLog)).size, jobs.length, 'each job its own log in the shared condor log directory')
  await until(() => !existsSync(layout.lockFile(join(root, 'run3auau'))) && !existsSync(layout.lockFile(join(root, 'run3pp'))))
  t.pass('both locks gone once the nights ended')
})

t.test('run3pp\'s night, status, why and report while run3auau\'s pipeline holds its own lock: none is kept out', async (t) => {
  const world = await nightWorld(t, 'run-types-overlap', { run3auau: 3, run3pp: 3 })
  const root = project(world.dir)
  const gate = join(world.dir, 'cdb-gate')
  const held = startTask(cronLine(world.dir, 'run3auau'), { ...world.env, FAKE_CDB_GATE: gate }, { cwd: root })
  const lockStage = () => {
    try {
      return (JSON.parse(readFileSync(layout.lockFile(join(root, 'run3auau')), 'utf8')) as { stage: string | null }).stage
    } catch {
      return undefined
    }
  }
  await until(() => calls(world.cdb).length > 0 && lockStage() === 'check')
  const night = await runTask(cronLine(world.dir, 'run3pp'), world.env, root)
  t.equal(night.code, 0, night.stderr)
  const run = readFileSync(layout.processCsv(join(root, 'run3pp'), 'run3pp'), 'utf8').split('\n')[1]!.split(',')[0]
  for (const look of [['status'], ['why', `RUN=${run}`], ['report']]) {
    const result = await runTask(['--silent', '-x', ...look, 'RUN_TYPE=run3pp'], world.env, root)
    t.equal(result.code, 0, `${look[0]}: ${result.stderr}`)
  }
  t.equal(lockStage(), 'check', 'run3auau\'s check held its lock all along')
  writeFileSync(gate, '')
  const first = await held.done
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: \d+ runs submitted to cluster \d+ /m)
})
