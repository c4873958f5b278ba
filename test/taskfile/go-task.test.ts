// Taskfile.yml under the real go-task (the `task` on PATH, which `npm test` puts there): its flags, the variables
// from the command line and the environment, the order of the stages, what is up to date, a failed night's page,
// hand edits that heal, and interrupted nights. The night-by-night assertions are in test/pipeline.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { layout } from '../../lib/files/layout.js'
import { freshDatabase } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { mtimes } from '../helpers/output-mtimes.js'
import { runStageHere, runTask, startTask } from '../helpers/run-script.js'

// Many whole nights, each a go-task and its stages started from source: more than tap's default on a busy machine.
t.setTimeout(900_000)

const STAGES = ['query', 'reduce', 'check', 'lists', 'condor', 'submit']

/** The stage scripts go-task started, in order, from `task --dry` (its lines on stderr: `task: [name] command`). */
const started = (stderr: string) => [...stderr.matchAll(/^task: \[[^\]]+\] .*tasks\/(\w+)\.ts/gm)].map((m) => m[1])

/** Waits for `condition`, polling; the test's own time-out bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100))
}

/** How many times `stage` started today, from the output's log. */
const starts = (out: string, stage: string) =>
  readdirSync(layout.logDir(out)).flatMap((name) => readFileSync(join(layout.logDir(out), name), 'utf8').split('\n'))
    .filter((line) => new RegExp(`^\\S+ ${stage}\\[\\d+\\] info: start: `).test(line)).length

t.test('--list names every stage with its description', async (t) => {
  const listed = await runTask(['--list'])
  t.equal(listed.code, 0, listed.stderr)
  for (const name of [...STAGES, 'plan', 'status', 'why', 'upload', 'report', 'demo', 'test']) t.match(listed.stdout, new RegExp(`^\\* ${name}:\\s+\\S`, 'm'), name)
})

t.test('--dry: the stages in order, with the variables of the command line or the environment, and nothing run', async (t) => {
  const out = join(t.testdir(), 'elsewhere')
  const dry = await runTask(['--dry', 'submit', 'RUN_TYPE=run3pp', `OUTPUT=${out}`, 'MEMORY=2', 'MAX_JOBS=7', 'STAGE_FLAGS=--verbose', '--', '--note'])
  t.equal(dry.code, 0, dry.stderr)
  t.same(started(dry.stderr), [...STAGES, 'report'], 'query to submit, then the report')
  t.match(dry.stderr, /tasks\/condor\.ts --run-type run3pp --memory 2 --output \S*elsewhere --verbose/)
  t.match(dry.stderr, /tasks\/submit\.ts --run-type run3pp --max-jobs 7 --output \S*elsewhere --do-condor-submit --note/, 'CLI_ARGS after --')
  t.notOk(existsSync(out), 'nothing ran')
  // The same variables from the environment; the command line wins over it.
  const fromEnv = await runTask(['--dry', 'reduce', 'RUN_TYPE=run3oo'], { RUN_TYPE: 'run3pp', OUTPUT: out })
  t.match(fromEnv.stderr, /tasks\/reduce\.ts --run-type run3oo --output \S*elsewhere --quiet/)
  t.same(started(fromEnv.stderr), ['query', 'reduce'])
  // Several tasks on one line: each as often as named, but the report (run: once).
  const several = await runTask(['--dry', 'status', 'report', 'status', 'report'])
  t.same(started(several.stderr), ['status', 'report', 'status'])
})

t.test('RULES and MIN_EVENTS reach the stages through the environment, checked by the stage that reads them', async (t) => {
  const out = join(t.testdir(), 'out')
  const cases: [string, RegExp][] = [
    ['MIN_EVENTS=lots', /^caloprod query: CALOPROD_MIN_EVENTS: cannot parse "lots"/],
    ['RULES=nonsense', /^caloprod query: CALOPROD_RULES: nonsense: no such rule set/],
  ]
  for (const [assignment, line] of cases) {
    const failed = await runTask(['--silent', '-x', 'query', assignment, `OUTPUT=${out}`])
    t.equal(failed.code, 2, assignment)
    t.match(failed.stderr, line)
    // From the environment, as cron's may set it.
    const [name, value] = assignment.split('=')
    t.match((await runTask(['--silent', '-x', 'query', `OUTPUT=${out}`], { [name]: value })).stderr, line, `${name} from the environment`)
  }
})

/** A catalog, its files, the fakes and a function running go-task on one output directory. */
async function night(t: Test, cdbExtra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'caloprod-gotask-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(dir, 'files'), runs: { run2pp: 1, run2auau: 1, run3auau: 6 } })
  await createCatalogFiles(files)
  const out = join(dir, 'out')
  const cdb = fakeCdb(dir)
  const env = {
    ...fakeCdbEnv(cdb, cdbExtra),
    ...fakeCondorEnv(join(dir, 'condor.json')),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(dir, '.task'),
  }
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`, 'JOBS=2']
  const task = (args: string[], extra: Record<string, string> = {}) => runTask([...args, ...vars], { ...env, ...extra })
  return { dir, out, env, vars, task, condor: join(dir, 'condor.json'), cdb }
}

t.test('the cron line, a quiet night, --status, --force, a changed catalog file, hand edits that heal', async (t) => {
  const { out, task, condor, dir, env } = await night(t)
  const first = await task(['--silent', '-x', 'submit', 'report'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: \d+ runs submitted to cluster 1 /m)
  t.equal(starts(out, 'report'), 1, 'submit report: the report once')
  t.match(readFileSync(join(out, 'condor', 'genStatus.sub'), 'utf8'), join(dir, 'condor-log'), 'CONDOR_LOG_DIR reached the condor stage')

  // A quiet night: reduce is up to date, the others run and rewrite nothing.
  const before = mtimes(out)
  const quiet = await task(['--verbose', '-x', 'submit'])
  t.equal(quiet.code, 0, quiet.stderr)
  t.match(quiet.stderr, /Task "reduce-run3auau-[^"]*" is up to date/)
  t.same([...mtimes(out)].filter(([path, mtime]) => before.get(path) !== mtime), [], 'no output rewritten')
  t.equal(readFakeState(condor).jobs.length, readdirSync(join(out, 'datasets')).length, 'nothing submitted twice')

  // --status (with --dry: a bare --status records go-task's checksum of the sources as it finds them).
  t.equal((await task(['--dry', '--status', 'reduce'])).code, 0, 'reduce up to date')
  t.not((await task(['--dry', '--status', 'query'])).code, 0, 'query always runs')
  const forced = await task(['--verbose', '--force', 'reduce'])
  t.equal(forced.code, 0, forced.stderr)
  t.notMatch(forced.stderr, /is up to date/, '--force runs reduce and query')

  // A changed query.csv (the catalog changed) makes reduce not up to date.
  const query = layout.queryCsv(out)
  const reduced = readFileSync(layout.reduceCsv(out), 'utf8')
  writeFileSync(query, readFileSync(query, 'utf8').split('\n').slice(0, -2).join('\n') + '\n')
  t.not((await task(['--dry', '--status', 'reduce'])).code, 0, 'a changed query.csv: reduce is not up to date')
  const rerun = await task(['--verbose', 'reduce'])
  t.equal(rerun.code, 0, rerun.stderr)
  t.match(rerun.stderr, /Task "reduce-[^"]*" is up to date/, 'query, which always runs, wrote the catalog\'s query.csv back first')
  t.equal(readFileSync(layout.reduceCsv(out), 'utf8'), reduced)
  t.equal((await task(['--dry', '--status', 'reduce'])).code, 0, 'and is up to date again')

  // Hand edits: a torn reduce.csv is named with the exact command that writes it again; the next night heals it.
  truncateSync(layout.reduceCsv(out), reduced.length - 1)
  const lists = await runStageHere('lists', ['--run-type', 'run3auau', '--output', out, '--quiet'])
  t.equal(lists.code, 1)
  const command = `task reduce RUN_TYPE=run3auau OUTPUT=${out}`
  t.match(lists.stderr, `re-run the stage that writes it: ${command}`)
  const healed = await runTask(command.split(' ').slice(1), env)
  t.equal(healed.code, 0, healed.stderr)
  t.equal(readFileSync(layout.reduceCsv(out), 'utf8'), reduced, 'the named command writes it again')
  const runList = layout.runListCsv(out, 'run3auau')
  const runs = readFileSync(runList, 'utf8')
  writeFileSync(runList, runs.replace(/\n/, '\n99999,edited\n'))
  rmSync(layout.reduceCsv(out))
  const heal = await task(['--silent', '-x', 'submit'])
  t.equal(heal.code, 0, heal.stderr)
  t.equal(readFileSync(runList, 'utf8'), runs, 'the next night rewrites an edited run3auau.csv')
  t.equal(readFileSync(layout.reduceCsv(out), 'utf8'), reduced, 'and a deleted reduce.csv')
})

t.test('an OUTPUT holding shell characters: the nights run, and the second finds reduce up to date', async (t) => {
  const { dir, vars, env } = await night(t)
  // go-task reads `sources` and `generates` as shell words: $HOME expanded, a backslash an escape, a quote unclosed.
  const out = join(dir, 'out $HOME & (x) \\ y')
  const odd = vars.map((v) => (v.startsWith('OUTPUT=') ? `OUTPUT=${out}` : v))
  const first = await runTask(['--silent', '-x', 'submit', ...odd], env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: \d+ runs submitted to cluster 1 /m)
  const second = await runTask(['--verbose', '-x', 'submit', ...odd], env)
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, /Task "reduce-run3auau-[^"]*" is up to date/)
  t.ok(existsSync(layout.reportHtml(out)))

  // A quote: condor_submit cannot pass it through to the job, so the condor stage refuses it in one line, and the
  // page says so; go-task itself no longer stops on it first ("reached EOF without closing quote").
  const quoted = join(dir, "it's")
  const refused = await runTask(['--silent', '-x', 'submit', ...vars.map((v) => (v.startsWith('OUTPUT=') ? `OUTPUT=${quoted}` : v))], env)
  t.equal(refused.code, 2, refused.stderr)
  t.match(refused.stderr, /^caloprod condor: --output .* holds a quote/m)
  t.notMatch(refused.stderr, /closing quote/)
  t.match(readFileSync(layout.reportHtml(quoted), 'utf8'), /<b>condor failed<\/b>/)
})

t.test('a failed night: the stage\'s line and go-task\'s, its exit code, and the page written once all the same', async (t) => {
  const { out, task, vars, env } = await night(t)
  t.equal((await task(['--silent', '-x', 'submit', 'report'])).code, 0)
  // JOBS reaches check through CALOPROD_JOBS (a flag cannot be empty): a bad value is refused by check, naming it.
  const jobs = await runTask(['--silent', '-x', 'check', ...vars.filter((v) => !v.startsWith('JOBS=')), 'JOBS=lots'], env)
  t.equal(jobs.code, 2, jobs.stderr)
  t.match(jobs.stderr, /^caloprod check: CALOPROD_JOBS/m)
  const page = layout.reportHtml(out)
  writeFileSync(page, 'yesterday\n')
  const failed = await task(['--silent', '-x', 'submit', 'report'], { FAKE_CDB_FAIL: 'exit1' })
  t.equal(failed.code, 1, "the check's exit code")
  const lines = failed.stderr.trim().split('\n')
  t.match(lines[0], /^caloprod check: /)
  t.match(lines.at(-1), /^task: Failed to run task "submit": .*task: Failed to run task "check": exit status 1$/)
  t.not(readFileSync(page, 'utf8'), 'yesterday\n', 'the page is written')
  t.equal(starts(out, 'report'), 2, 'once a night')
  // Without -x, go-task's own code for a failed command.
  t.equal((await task(['--silent', 'submit'], { FAKE_CDB_FAIL: 'exit1' })).code, 201)
})

t.test('interrupted nights: SIGINT exits 130, SIGTERM 143, after the stage cleaned up; SIGKILL; the next night finishes', async (t) => {
  // filter-datasets waits at a gate never opened (the next night has none): each check is still running when its
  // signal comes, however long a busy machine takes to see it started (lookups of a fixed time could all end first).
  const { out, vars, env, cdb, dir } = await night(t)
  const gate = join(dir, 'cdb-gate')
  const lock = layout.lockFile(out)
  // The stage the lock says is in progress (null between stages), undefined while there is none to read.
  const lockStage = (): string | null | undefined => {
    try {
      return (JSON.parse(readFileSync(lock, 'utf8')) as { stage: string | null }).stage
    } catch {
      return undefined
    }
  }
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGKILL', null]] as const) {
    rmSync(cdb.calls, { force: true })
    const { child, done } = startTask(['--silent', '-x', 'submit', ...vars], { ...env, FAKE_CDB_GATE: gate }, { group: true })
    // In the middle of the check: it holds the lock and has started filter-datasets.
    await until(() => existsSync(cdb.calls) && lockStage() === 'check')
    process.kill(-child.pid!, signal)
    const result = await done
    if (code === null) {
      t.equal(result.signal, 'SIGKILL')
    } else {
      t.equal(result.code, code, `${signal}: ${result.stderr}`)
      t.match(result.stderr, `caloprod check: stopped by ${signal}`)
      t.match(result.stderr, new RegExp(`task: Failed to run task "submit": .*exit status ${code}$`, 'm'))
      t.notOk(lockStage(), `${signal}: the lock is released (between stages, or removed once go-task ended)`)
      // The lock's watcher (tasks/watch-lock.ts, detached) removes it once go-task has ended, through a takeover guard
      // written as a temporary file for a moment: the directory is looked at once it has done so.
      await until(() => lockStage() === undefined)
    }
    const temps = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.tmp'))
    if (code !== null) t.same(temps, [], `${signal}: no temporary file left`)
  }
  // The next night takes over what the killed one left and finishes.
  const next = await runTask(['--silent', '-x', 'submit', ...vars], env)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: \d+ runs submitted to cluster 1 /m)
})
