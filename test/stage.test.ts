// lib/stage.ts, run in-process with a fake StageIo: help, the exit codes (0 done, 1 failed, 2 usage, 3 locked),
// the one line on stderr, the log of the output directory, read-only stages, the lock and the password in argv;
// every way a stage fails (an error no code caught included, in-process and as a command) releasing the lock and
// removing its temporary files.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { usage, type FlagName } from '../lib/config/options.js'
import { CaloprodError, UsageError } from '../lib/errors.js'
import { openAtomicWriter, tempPathFor } from '../lib/files/atomic.js'
import { layout } from '../lib/files/layout.js'
import { acquireLock, lockOwner, processInfo } from '../lib/lock.js'
import { logFileFor } from '../lib/log.js'
import { NO_PROGRESS } from '../lib/progress.js'
import { redactArgv, runStage, type StageContext, type StageIo, type StageSpec } from '../lib/stage.js'
import { makeCatalog } from './helpers/catalog.js'
import { freshDatabase } from './helpers/database.js'
import { deadPid, liveProcess } from './helpers/processes.js'
import { ROOT, runScript } from './helpers/run-script.js'

/** The run type's mark (lib/files/run-type-mark.ts), which a stage of the pipeline makes before it starts. */
const RUN_TYPE_MARK = layout.runTypeMark('')

const FLAGS: FlagName[] = ['help', 'output', 'verbose', 'quiet', 'db-url', 'do-condor-submit']
/** A stage that may create its output directory, as query does; the tests below start from a directory not yet made. */
const SPEC: StageSpec = { name: 'demo', summary: 'Does what a test asks.', flags: FLAGS, makesOutput: true }

const dirs = new WeakMap<Test, string>()

/** The test's own directory; t.testdir() once per test (a second call would empty it). */
function testDir(t: Test): string {
  if (!dirs.has(t)) dirs.set(t, t.testdir())
  return dirs.get(t)!
}

/** A StageIo whose stdout and stderr are collected; `argv` as given, the test's directory as working directory. */
function fakeIo(t: Test, argv: string[], over: Partial<StageIo> = {}) {
  const seen = { stdout: '', stderr: '' }
  const io: StageIo = {
    argv,
    env: {},
    cwd: testDir(t),
    stdout: (text) => (seen.stdout += text),
    stderr: (text) => (seen.stderr += text),
    ...over,
  }
  return { io, seen }
}

/** The text of the output directory's log files, in name order. */
const logText = (output: string) =>
  readdirSync(join(output, 'log')).filter((name) => name.endsWith('.log')).sort().map((name) => readFileSync(join(output, 'log', name), 'utf8')).join('')

/** A body that records its context and returns `summary`. */
function recorder(summary = 'demo: 3 things done') {
  const calls: StageContext[] = []
  return { calls, body: async (ctx: StageContext) => (calls.push(ctx), summary) }
}

t.test('a stage that works: exit 0, its summary on stdout, start and summary in the day\'s log', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--output', output], { env: { USER: 'calo' } })
  const { calls, body } = recorder()
  t.equal(await runStage(SPEC, io, body), 0)
  t.equal(seen.stdout, 'demo: 3 things done\n')
  t.equal(seen.stderr, '')
  t.equal(calls.length, 1)
  t.equal(calls[0].options.output, output)
  t.same(calls[0].argv, ['--output', output], 'the body sees the arguments as given')
  t.same(calls[0].env, { USER: 'calo' })
  t.equal(calls[0].progress, NO_PROGRESS, 'no progress line without a terminal')
  t.ok(existsSync(output), 'the output directory is created')
  const lines = logText(output).split('\n')
  t.match(lines[0], new RegExp(`^\\S+ demo\\[${process.pid}\\] info: start: --output ${output}$`))
  t.match(lines[1], /^\S+ demo\[\d+\] done: demo: 3 things done$/)
  t.equal(lines.length, 3)
})

t.test('--help prints the usage and returns 0, touching nothing', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--help', '--output', output])
  const { calls, body } = recorder()
  t.equal(await runStage(SPEC, io, body), 0)
  t.equal(seen.stdout, usage('npx tsx tasks/demo.ts', SPEC.summary, FLAGS))
  t.match(seen.stdout, /^Usage: npx tsx tasks\/demo\.ts \[flags\]\n\nDoes what a test asks\.\n\nFlags:\n/)
  t.equal(seen.stderr, '')
  t.equal(calls.length, 0, 'the body does not run')
  t.notOk(existsSync(output), 'no output directory')
})

t.test('a usage error returns 2 with one line `caloprod <name>: ...` and runs nothing', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--output', output, '--bogus'])
  const { calls, body } = recorder()
  t.equal(await runStage(SPEC, io, body), 2)
  t.equal(seen.stderr, 'caloprod demo: unknown flag --bogus; run with --help to see the flags this stage takes\n')
  t.equal(seen.stdout, '')
  t.equal(calls.length, 0)
  t.notOk(existsSync(output), 'options are resolved before anything is created')

  const late = fakeIo(t, ['--output', output])
  const refused = async () => {
    throw new UsageError('--max-jobs 0 leaves nothing to submit')
  }
  t.equal(await runStage(SPEC, late.io, refused), 2, 'a UsageError of the body is a usage error too')
  t.equal(late.seen.stderr, 'caloprod demo: --max-jobs 0 leaves nothing to submit\n')
})

t.test('a body that throws a CaloprodError returns 1: its message on stderr and in the log as failed:', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--output', output, '--verbose'])
  const failing = async (ctx: StageContext) => {
    ctx.log.info('working')
    throw new CaloprodError('cannot reach the CDB; try again later')
  }
  t.equal(await runStage(SPEC, io, failing), 1)
  t.equal(seen.stdout, '', 'no summary')
  t.equal(
    seen.stderr,
    `demo: start: --output ${output} --verbose\ndemo: working\ncaloprod demo: cannot reach the CDB; try again later\n` +
      'demo: failed: cannot reach the CDB; try again later\n',
    'with --verbose the log lines reach stderr too, the failed: line after the error line',
  )
  t.match(logText(output), /info: working\n.* info: failed: cannot reach the CDB; try again later\n$/)
  t.notMatch(logText(output), / done: /)
})

t.test('any other error returns 1 with its kind; its stack only with CALOPROD_DEBUG', async (t) => {
  const output = join(testDir(t), 'out')
  const crash = async () => {
    throw new TypeError('x is undefined')
  }
  const plain = fakeIo(t, ['--output', output])
  t.equal(await runStage(SPEC, plain.io, crash), 1)
  t.equal(plain.seen.stderr, 'caloprod demo: TypeError: x is undefined\n')

  const debug = fakeIo(t, ['--output', output], { env: { CALOPROD_DEBUG: '1' } })
  t.equal(await runStage(SPEC, debug.io, crash), 1)
  const [line, ...stack] = debug.seen.stderr.split('\n')
  t.equal(line, 'caloprod demo: TypeError: x is undefined')
  t.match(stack[0], /^TypeError: x is undefined$/)
  t.match(stack[1], /^\s+at /)

  const ours = fakeIo(t, ['--output', output], { env: { CALOPROD_DEBUG: '1' } })
  await runStage(SPEC, ours.io, async () => {
    throw new CaloprodError('a message that says it all')
  })
  t.equal(ours.seen.stderr, 'caloprod demo: a message that says it all\n', 'our own errors never carry a stack')
})

t.test('a read-only stage (a dry run) creates no output directory and writes no log', async (t) => {
  const output = join(testDir(t), 'out')
  const spec: StageSpec = { ...SPEC, readOnly: (options) => !options.doCondorSubmit, lock: true }
  const { io, seen } = fakeIo(t, ['--output', output])
  const { calls, body } = recorder('would submit 2 jobs')
  t.equal(await runStage(spec, io, body), 0)
  t.equal(seen.stdout, 'would submit 2 jobs\n')
  t.equal(calls.length, 1)
  t.notOk(existsSync(output), 'nothing created: no directory, no log, no lock')

  const acting = fakeIo(t, ['--output', output, '--do-condor-submit'])
  t.equal(await runStage(spec, acting.io, recorder('submitted 2 jobs').body), 0)
  t.ok(existsSync(join(output, 'log')), 'the same stage acting writes its log')
})

t.test('a log that cannot be written fails the stage with one line, and the body does not run', async (t) => {
  const output = join(testDir(t), 'out')
  mkdirSync(logFileFor(output), { recursive: true }) // today's log file is a directory
  const { io, seen } = fakeIo(t, ['--output', output])
  const { calls, body } = recorder()
  t.equal(await runStage(SPEC, io, body), 1)
  t.equal(calls.length, 0)
  t.equal(seen.stderr, `caloprod demo: ${logFileFor(output)}: is a directory where caloprod reads or writes a file (EISDIR on open); move that directory away and run again\n`)
  t.equal(seen.stdout, '')
})

t.test('an --output that is a file is refused with exit 2', async (t) => {
  const file = join(testDir(t), 'a-file')
  writeFileSync(file, 'not a directory\n')
  const { io, seen } = fakeIo(t, ['--output', file])
  const { calls, body } = recorder()
  t.equal(await runStage(SPEC, io, body), 2)
  t.equal(seen.stderr, `caloprod demo: --output ${file} is a file, not a directory\n`)
  t.equal(calls.length, 0)
  t.equal(readFileSync(file, 'utf8'), 'not a directory\n')
})

t.test('a stage that does not make its output refuses a directory that does not exist: exit 2, nothing created', async (t) => {
  const output = join(testDir(t), 'typo')
  const writing: StageSpec = { ...SPEC, makesOutput: undefined, lock: true }
  const reading: StageSpec = { ...writing, readOnly: () => true }
  for (const spec of [writing, reading]) {
    const { io, seen } = fakeIo(t, ['--output', output])
    const { calls, body } = recorder()
    t.equal(await runStage(spec, io, body), 2)
    t.equal(seen.stderr, `caloprod demo: --output ${output}: no such directory (only the query stage, a night's first, creates it)\n`)
    t.equal(calls.length, 0)
    t.notOk(existsSync(output), 'no directory, log, mark or record of the night')
  }
  mkdirSync(output)
  t.equal(await runStage(writing, fakeIo(t, ['--output', output]).io, recorder().body), 0, 'the same stage runs once it exists')
})

t.test('the stage that makes its output makes the directory, not its parents (a file system not mounted)', async (t) => {
  const parent = join(testDir(t), 'sphenix', 'u', 'calo')
  const output = join(parent, 'run3auau')
  const { io, seen } = fakeIo(t, ['--output', output])
  const { calls, body } = recorder()
  t.equal(await runStage({ ...SPEC, lock: true }, io, body), 2)
  t.equal(seen.stderr, `caloprod demo: --output ${output}: ${parent} does not exist (a file system not mounted?); the query stage makes the output directory, not its parents: if it is meant, mkdir -p ${parent}\n`)
  t.equal(calls.length, 0)
  t.notOk(existsSync(join(testDir(t), 'sphenix')), 'nothing created')
  mkdirSync(parent, { recursive: true })
  t.equal(await runStage({ ...SPEC, lock: true }, fakeIo(t, ['--output', output]).io, body), 0, 'made once its parent is there')
  t.ok(existsSync(join(output, 'log')))
})

t.test('lock: true holds the lock while the body runs and releases it after', async (t) => {
  const output = join(testDir(t), 'out')
  const lockFile = layout.lockFile(output)
  // Run by hand the stage owns the lock; under a task runner (`task test`) the runner does, and keeps it.
  const owner = lockOwner()
  const released = () => (owner.pipeline ? JSON.parse(readFileSync(lockFile, 'utf8')) : existsSync(lockFile) ? 'still there' : undefined)
  const expected = owner.pipeline ? { pid: owner.pid, stage: null, stagePid: null } : undefined
  let heldDuring: unknown
  const { io } = fakeIo(t, ['--output', output])
  const code = await runStage({ ...SPEC, lock: true }, io, async () => {
    heldDuring = JSON.parse(readFileSync(lockFile, 'utf8'))
    return 'done'
  })
  t.equal(code, 0)
  t.match(heldDuring, { pid: owner.pid, pipeline: owner.pipeline, stage: 'demo', stagePid: process.pid })
  t.match(released(), expected, 'released when the stage ends')

  await runStage({ ...SPEC, lock: true }, fakeIo(t, ['--output', output]).io, async () => {
    throw new CaloprodError('failed')
  })
  t.match(released(), expected, 'released when the body fails too')
})

t.test('lock: true with a live lock of another run returns 3 and runs nothing', async (t) => {
  const output = join(testDir(t), 'out')
  mkdirSync(output)
  const other = liveProcess(t)
  const pid = other.pid!
  const theirs = { pid, start: processInfo(pid)?.start, command: `stage (pid ${pid})`, pipeline: false }
  await acquireLock(output, 'submit', theirs, { self: pid })
  const before = readFileSync(layout.lockFile(output), 'utf8')
  const { io, seen } = fakeIo(t, ['--output', output])
  const { calls, body } = recorder()
  t.equal(await runStage({ ...SPEC, lock: true }, io, body), 3)
  t.match(seen.stderr, new RegExp(`^caloprod demo: ${output} is in use by the submit stage \\(pid ${pid}\\) on .*; this run stops`))
  t.equal(seen.stderr.split('\n').length, 2, 'one line')
  t.equal(calls.length, 0)
  t.equal(readFileSync(layout.lockFile(output), 'utf8'), before, 'the other run keeps its lock')
  t.match(logText(output), / info: failed: .* is in use by the submit stage/, 'the refusal is in the log')

  const readOnly = fakeIo(t, ['--output', output])
  const spec: StageSpec = { ...SPEC, lock: true, readOnly: () => true }
  t.equal(await runStage(spec, readOnly.io, recorder().body), 0, 'a read-only stage does not take the lock')
})

t.test('only a lock holder sweeps the temporary files killed runs left', async (t) => {
  const output = join(testDir(t), 'out')
  mkdirSync(join(output, 'datasets'), { recursive: true })
  const gone = await deadPid()
  const stale = [join(output, `.query.csv.${gone}.0123abcd.tmp`), join(output, 'datasets', `.68001_x.list.${gone}.89abcdef.tmp`)]
  const live = join(output, `.reduce.csv.${process.pid}.01234567.tmp`)
  for (const path of [...stale, live]) writeFileSync(path, 'half')

  t.equal(await runStage(SPEC, fakeIo(t, ['--output', output]).io, recorder().body), 0)
  t.ok(stale.every(existsSync), 'a stage without the lock leaves them: another node may be writing them')

  t.equal(await runStage({ ...SPEC, lock: true }, fakeIo(t, ['--output', output]).io, recorder().body), 0)
  t.notOk(stale.some(existsSync), 'the lock holder removes those of dead processes')
  t.ok(existsSync(live), 'and keeps one whose writer lives')
  t.match(logText(output), / info: removed 2 temporary files left by killed runs\n/)
})

t.test('on a terminal the stage gets a progress line, erased before anything else reaches stderr', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--output', output], { stderrIsTerminal: true })
  const code = await runStage(SPEC, io, async (ctx) => {
    t.not(ctx.progress, NO_PROGRESS)
    ctx.progress.show('demo: 1 of 2 runs')
    ctx.log.warn('run 2 is odd')
    ctx.progress.show('demo: 2 of 2 runs', true)
    return 'demo: 2 runs'
  })
  t.equal(code, 0)
  const ERASE = '\r\x1b[K'
  t.equal(seen.stderr, `${ERASE}demo: 1 of 2 runs${ERASE}demo: warning: run 2 is odd\n${ERASE}demo: 2 of 2 runs${ERASE}`)
  t.equal(seen.stdout, 'demo: 2 runs\n')

  const quiet = fakeIo(t, ['--output', output, '--quiet'], { stderrIsTerminal: true })
  await runStage(SPEC, quiet.io, async (ctx) => (t.equal(ctx.progress, NO_PROGRESS, 'none with --quiet'), 'x'))
  t.equal(quiet.seen.stdout, '', '--quiet prints no summary')
})

t.test('redactArgv hides the user info of any URL, up to the last @, and a secret in its query', async (t) => {
  t.same(
    redactArgv(['--db-url', 'postgres://calo:hunter2@db:5432/FileCatalog', '-v']),
    ['--db-url', 'postgres://***@db:5432/FileCatalog', '-v'],
  )
  t.same(redactArgv(['--db-url=postgres://calo:p@ss:w@rd@db/FC']), ['--db-url=postgres://***@db/FC'], 'an unencoded @ in the password')
  for (const pw of ['ab/SEKRIT', 'ab?SEKRIT', 'ab#SEKRIT', 'ab SEKRIT', 'a@b/c?d#SEKRIT']) {
    t.same(redactArgv(['--db-url', `postgres://calo:${pw}@db:5432/FC`]), ['--db-url', 'postgres://***@db:5432/FC'], pw)
  }
  t.same(redactArgv(['--db-url', 'postgres://calo@db/FC?sslmode=require&password=SEKRIT&x=1']), ['--db-url', 'postgres://***@db/FC?sslmode=require&password=***'])
  t.same(redactArgv(['--db-url', 'postgres://db/FC?password=ab@SEKRIT']), ['--db-url', 'postgres://***'], 'an @ in a query password')
  t.same(redactArgv(['--cdb-url', 'u:SEKRIT@host:8000/api/', '--cdb-url=u:SEKRIT@h/']), ['--cdb-url', '***@host:8000/api/', '--cdb-url=***@h/'], 'no scheme')
  t.same(redactArgv(['http://u:a@h/ and https://v:b@k/']), ['http://***@k/'], 'up to the last @ of an argument: never less than a password')
  t.same(redactArgv(['postgres://db/FC', 'http://host:8000/api/cdb_rest/', 'user:pw@host']), [
    'postgres://db/FC', 'http://host:8000/api/cdb_rest/', 'user:pw@host',
  ], 'no user info, a port, or no URL at all: unchanged')
})

t.test('the password of --db-url never reaches the log', async (t) => {
  const output = join(testDir(t), 'out')
  const { io, seen } = fakeIo(t, ['--output', output, '--db-url', 'postgres://calo:hunter2@db/FC', '--verbose'])
  t.equal(await runStage(SPEC, io, recorder().body), 0)
  t.match(logText(output), /start: --output \S+ --db-url postgres:\/\/\*\*\*@db\/FC --verbose\n/)
  t.notMatch(logText(output) + seen.stderr + seen.stdout, /hunter2/)
})

t.test('a signal that also ends the body (its children died of it): the lock is released once, the error only logged', async (t) => {
  const output = join(testDir(t), 'out')
  const owner = lockOwner()
  let cleanup: ((signal: string) => Promise<void>) | undefined
  const kept: string[] = []
  const { io, seen } = fakeIo(t, ['--output', output], { onInterrupt: (then) => (cleanup = then), pipelineLockKept: (_, lock) => kept.push(lock) })
  let childDied: (err: Error) => void = () => {}
  let started: () => void = () => {}
  const inBody = new Promise<void>((resolve) => (started = resolve))
  const ran = runStage({ ...SPEC, lock: true }, io, () => (started(), new Promise<string>((_, reject) => (childDied = reject))))
  await inBody
  // As the signal comes: tasks/main.ts runs the cleanup, and the body's child dies of the same signal.
  const cleaned = cleanup!('SIGTERM')
  childDied(new CaloprodError('filter-datasets was killed by SIGTERM'))
  await cleaned
  t.notOk(existsSync(layout.lockFile(output)) && JSON.parse(readFileSync(layout.lockFile(output), 'utf8')).stage, 'released when the cleanup is done')
  t.equal(await ran, 1)
  t.equal(seen.stderr, '', "the body's error is the signal's doing: not on stderr")
  const log = logText(output)
  t.match(log, /interrupted by SIGTERM/)
  t.match(log, /failed: filter-datasets was killed by SIGTERM/)
  t.notMatch(log, /changed hands|ENOENT/, 'released once')
  t.equal(kept.length, owner.pipeline ? 1 : 0, "a pipeline's lock is handed to one watcher")
})

t.test('however the body fails, its temporary files are removed and the lock released', async (t) => {
  const output = join(testDir(t), 'out')
  const owner = lockOwner()
  // A streamed file and a folder built under a temporary name, both left half-made by the failure.
  const halfWritten = async () => {
    const writer = await openAtomicWriter(join(output, 'query.csv'))
    await writer.write('runnumber,tag\n66500,')
    const folder = tempPathFor(join(output, 'submission'))
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'jobs.csv'), 'half')
  }
  let crash: (err: unknown) => void = () => {}
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['its own error', async () => (await halfWritten(), Promise.reject(new CaloprodError('cannot reach the CDB'))), /^caloprod demo: cannot reach the CDB\n$/],
    ['an internal error', async () => (await halfWritten(), Promise.reject(new TypeError('x is undefined'))), /^caloprod demo: TypeError: x is undefined\n$/],
    // As tasks/main.ts hands the process's uncaught errors in: the body itself never ends.
    ['an error no code caught', async () => (await halfWritten(), crash(new TypeError('thrown from a timer')), new Promise<string>(() => {})), /^caloprod demo: TypeError: thrown from a timer\n$/],
  ]
  for (const [name, body, line] of cases) {
    const internalError = new Promise<never>((_, reject) => (crash = reject))
    const { io, seen } = fakeIo(t, ['--output', output], { internalError })
    t.equal(await runStage({ ...SPEC, lock: true }, io, body), 1, name)
    t.match(seen.stderr, line, `${name}: one line`)
    const left = readdirSync(output).filter((f) => f !== 'log' && f !== RUN_TYPE_MARK && !(owner.pipeline && f === '.caloprod.lock'))
    t.same(left, [], `${name}: no temporary file or folder${owner.pipeline ? '' : ', no lock'}`)
  }
})

t.test('an error no code caught in a stage command: one line, exit 1, no lock, no temporary file', async (t) => {
  const crashHook = join(ROOT, 'test', 'helpers', 'crash-when-temp.mjs')
  // query: the error comes once its temporary file is open, while its connection to the catalog is.
  const { url, sql } = await freshDatabase(t)
  await makeCatalog(sql, [{ run: 66500, tag: 'v1', segment: 0, events: 600000 }])
  const cases = [
    ['query', '.query.csv.', ['--db-url', url], {}],
    ['reduce', '.reduce.csv.', [], { 'query.csv': 'runnumber,tag,segment,events,full_file_path,time\n' }],
  ] as const
  for (const [stage, prefix, args, files] of cases) {
    const output = join(testDir(t), stage)
    mkdirSync(output)
    for (const [name, text] of Object.entries(files)) writeFileSync(join(output, name), text)
    const result = await runScript(stage, ['--output', output, ...args], { NODE_OPTIONS: `--import ${crashHook}`, CALOPROD_CRASH_ON: prefix })
    t.equal(result.code, 1, `${stage}: ${result.stderr}`)
    t.equal(result.stderr, `caloprod ${stage}: TypeError: injected: an error no code catches\n`, `${stage}: one line`)
    t.same(readdirSync(output).filter((f) => f !== 'log' && f !== RUN_TYPE_MARK).sort(), Object.keys(files), `${stage}: no lock, no temporary file`)
    t.match(readFileSync(join(output, 'log', readdirSync(join(output, 'log'))[0]), 'utf8'), /info: failed: TypeError: injected/, `${stage}: in the log`)
  }
})
