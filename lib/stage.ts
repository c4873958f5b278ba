import { mkdir, stat } from 'node:fs/promises'
import { constants as osConstants } from 'node:os'
import { dirname, resolve } from 'node:path'
import mri from 'mri'
import { envName, resolveOptions, usage, type Env, type FlagName, type Options } from './config/options.js'
import { CaloprodError, describeError, UsageError } from './errors.js'
import { removeAllOwnTemps, sweepStaleTemps, withOwnTemps } from './files/atomic.js'
import { stopAllGroups, withOwnGroups } from './spawn-group.js'
import { layout } from './files/layout.js'
import { checkRunTypeMark, markAllows } from './files/run-type-mark.js'
import { acquireLock, lockOwner, type ReleaseLock } from './lock.js'
import { logFileFor, openLog, type Log } from './log.js'
import { NO_PROGRESS, terminalProgress, type Progress } from './progress.js'
import { redactUrl, redactUrls } from './redact.js'
import { recordStageEnd } from './report/last-night.js'
import { visibleLine } from './visible.js'

/** The directories stages write into, where a killed writer may have left a temporary file. */
const STAGE_DIRS = [(output: string) => output, layout.datasetsDir, layout.condorDir]

/**
 * What a stage script (`tasks/<name>.ts`) declares: `summary` for --help; `readOnly` (a dry run) writes no log and
 * creates no directory; `lock`: hold the output's lock while the body runs; `endsNight`: its success ends a good
 * night in last-night.json (submit); `makesOutput`: the pipeline's first stage (query), the one that may create the
 * output directory. Any other stage, read-only too, refuses one that does not exist: a mistyped --output is one line,
 * not a new directory holding a log, a run-type mark and a failed night, nor advice to run the night there.
 */
export type StageSpec = { name: string; summary: string; flags: readonly FlagName[]; lock?: boolean; endsNight?: boolean }
  & { readOnly?: (options: Options) => boolean; makesOutput?: boolean }

/**
 * What a stage's body gets. `argv`: for the rare body that must know whether a flag was given; `progress`: NO_PROGRESS
 * unless stderr is a terminal and not --quiet; `stdout`: for a document (report --stdout), whatever --quiet says.
 */
export type StageContext = { options: Options; argv: readonly string[]; log: Log; env: Env; progress: Progress }
  & { stdout: (text: string) => void }

/**
 * What `tasks/main.ts` runs as a command and a test in-process; the body returns its summary: a text, its lines (each
 * kept one line: a field of outside text cannot add a line), or undefined.
 */
export type Stage = { spec: StageSpec; body: StageBody }
export type StageBody = (ctx: StageContext) => Promise<string | readonly string[] | undefined>

/**
 * The process around a stage, passed in so tests can run one in-process. `stderrIsTerminal`: a person watching (never
 * cron), so progress may show; `onInterrupt` receives, while the body runs, the cleanup to do before the process ends
 * on a signal; `internalError` rejects with an error no code caught: the stage fails at once, cleaned up, while the
 * body may still run; `pipelineLockKept`: a pipeline's lock left between stages, for lock.ts removeWhenEnded.
 */
export interface StageIo {
  argv: readonly string[]
  env: Env
  cwd: string
  stdout: (text: string) => void
  stderr: (text: string) => void
  stderrIsTerminal?: boolean
  onInterrupt?: (cleanup: ((signal: string) => Promise<void>) | undefined) => void
  internalError?: Promise<never>
  pipelineLockKept?: (output: string, lock: string) => void
}

/** The flags whose value is a URL, whose scheme may be left out (`--cdb-url user:pw@host:8000/api/`). */
const URL_FLAGS = ['--db-url', '--cdb-url']

/**
 * A command line for the log with the secrets of its URLs hidden (lib/redact.ts): the user info, up to the last `@`
 * (a password may hold an unencoded `@`, `/`, `?`, `#` or space), and a password or token in the query.
 */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const flag = URL_FLAGS.find((name) => arg.startsWith(`${name}=`))
    if (flag) return `${flag}=${redactUrl(arg.slice(flag.length + 1))}`
    return URL_FLAGS.includes(argv[i - 1]) ? redactUrl(arg) : redactUrls(arg)
  })
}

/** The stage that writes each file a later stage reads and a person may break, by its path. */
function writers({ output, runType }: Options): [string, string][] {
  return [[layout.queryCsv(output), 'query'], [layout.runListCsv(output, runType), 'reduce'], [layout.reduceCsv(output), 'reduce'],
    [layout.processCsv(output, runType), 'check'], [layout.missingCsv(output, runType), 'lists']]
}

/** `line` (an error naming a file) with the exact command to re-run the stage that writes it, where it says to. */
function withRerunCommand(line: string, options: Options | undefined): string {
  const hint = 're-run the stage that writes it'
  const writer = options && line.includes(hint) ? writers(options).find(([path]) => line.startsWith(`${path}:`))?.[1] : undefined
  if (!writer || !options) return line
  return line.replace(hint, `${hint}: task ${writer} RUN_TYPE=${shellWord(options.runType)} OUTPUT=${shellWord(options.output)}`)
}

/** `text` as one word for a shell: as it is when it holds nothing a shell reads, else single-quoted. */
const shellWord = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`)

/** The output directory a stage's arguments name, read leniently (the options did not resolve), if it exists. */
async function existingOutput(io: StageIo): Promise<string | undefined> {
  const args = mri([...io.argv], { string: ['output', 'run-type'], alias: { o: 'output', i: 'run-type' } })
  const given = args.output ?? io.env[envName('output')] ?? args['run-type'] ?? io.env[envName('run-type')] ?? 'run3auau'
  const output = resolve(io.cwd, String(given))
  const runType = String(args['run-type'] ?? io.env[envName('run-type')] ?? 'run3auau')
  // Another run type's directory keeps its own record of its nights.
  return (await stat(output)).isDirectory() && (await markAllows(output, runType)) ? output : undefined
}

/**
 * Makes the output directory, not its parents: a parent missing is more often a file system not mounted than a tree
 * to make, and a new output directory there would be a first night (no ledger) that sends again every run in flight.
 */
async function makeOutput(output: string): Promise<void> {
  await mkdir(output).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return // another stage made it meanwhile
    if (err.code !== 'ENOENT') throw err
    const parent = dirname(output)
    throw new UsageError(`--output ${output}: ${parent} does not exist (a file system not mounted?); the query stage makes the output directory, not its parents: if it is meant, mkdir -p ${shellWord(parent)}`)
  })
}

/** The exit code of a stage a signal stopped, as a shell gives it: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP). */
export const signalExitCode = (signal: NodeJS.Signals): number => 128 + osConstants.signals[signal]

/**
 * Runs a stage: options (or help), the output directory, the log, the body, its summary. Errors become one line on
 * stderr (and in the log); nothing here exits. Returns the exit code: 0 done, 1 failed, 2 usage, 3 locked.
 */
export async function runStage(spec: StageSpec, io: StageIo, body: StageBody): Promise<number> {
  const ended: Ended = { line: '' }
  const code = await runGuarded(spec, io, body, ended)
  // Every exit of a stage that may write is recorded for the report's banner; not a run kept out by the lock (the
  // holder records its own), nor one a signal stopped (its interrupt cleanup records that, before the process exits).
  if (ended.output && code !== 3 && !ended.interrupted) {
    await recordStageEnd(ended.output, spec.name, { at: new Date().toISOString(), code, line: ended.line }, spec.endsNight === true)
  }
  return code
}

/** How a stage ended, for the record of the night; `interrupted`: a signal stopped it (StageIo.onInterrupt). */
type Ended = { output?: string; line: string; interrupted?: boolean }

async function runGuarded(spec: StageSpec, io: StageIo, body: StageBody, ended: Ended): Promise<number> {
  let log: Log | undefined
  let resolved: Options | undefined
  // A dry run (the plan) is a person's question, not the night: it records nothing, failed or not.
  let readOnly = false
  try {
    // A stage that takes no lock (report, status, why) starts nothing of the pipeline's: another stage's bad
    // variable is that stage's to refuse, and the report, deferred, still writes the page that says so.
    const options = (resolved = resolveOptions(io.argv, io.env, io.cwd, spec.flags, { othersVars: spec.lock === true }))
    if (options.help) {
      io.stdout(usage(`npx tsx tasks/${spec.name}.ts`, spec.summary, spec.flags))
      return 0
    }
    readOnly = spec.readOnly?.(options) ?? false
    const info = await stat(options.output).catch(() => undefined)
    if (info && !info.isDirectory()) throw new UsageError(`--output ${options.output} is a file, not a directory`)
    if (!info && !spec.makesOutput) throw new UsageError(`--output ${options.output}: no such directory (only the query stage, a night's first, creates it)`)
    if (!info && !readOnly) await makeOutput(options.output)
    // Before anything is written or recorded there: another run type's directory is refused, left as it is. The
    // stages of the pipeline mark it; the report, which only shows it, does not.
    await checkRunTypeMark(options.output, options.runType, { claim: spec.lock === true && !readOnly })
    if (!readOnly) ended.output = options.output
    const progress = io.stderrIsTerminal && !options.quiet ? terminalProgress(io.stderr) : NO_PROGRESS
    // Whatever else goes to stderr erases the progress line first; the next update draws it again below.
    const stderr = (text: string) => {
      progress.clear()
      io.stderr(text)
    }
    const file = readOnly ? undefined : logFileFor(options.output)
    log = openLog({ stage: spec.name, file, verbose: options.verbose, quiet: options.quiet, stdout: io.stdout, stderr })
    log.info(`start: ${redactArgv(io.argv).join(' ')}`)
    let acquiring: Promise<ReleaseLock> | undefined
    // Once, shared: a signal's cleanup and the body's end (its children died of the same signal) both release, and
    // the process exits when the cleanup's release is done, so a second write of the lock would be cut off mid-way.
    let releasing: Promise<void> | undefined
    const releaseLock = () => (releasing ??= (async () => {
      const kept = await (await acquiring?.catch(() => undefined))?.()
      if (kept) io.pipelineLockKept?.(options.output, kept)
    })())
    // Before the lock is taken, so a signal while it is being taken still releases it.
    io.onInterrupt?.(async (signal) => {
      ended.interrupted = true
      log?.info(`interrupted by ${signal}`)
      // The programs it started first (a condor_submit still running would queue its jobs after the lock is gone),
      // then its temporary files, then the lock.
      await stopAllGroups()
      await removeAllOwnTemps()
      await releaseLock()
      await Promise.all([...STAGE_DIRS, layout.logDir].map((dir) => sweepStaleTemps(dir(options.output), process.pid)))
      // Last, so the report that go-task runs next (deferred by submit) opens with the stopped stage: without it the
      // page of a night cron's time limit killed showed the night before's stages, all succeeded. Written whole
      // (a rename), so a second signal, which exits at once, leaves the old record or the new one.
      if (ended.output) {
        const code = signalExitCode(signal as NodeJS.Signals)
        await recordStageEnd(ended.output, spec.name, { at: new Date().toISOString(), code, line: `stopped by ${signal}` }, false)
      }
    })
    let said: string | readonly string[] | undefined
    try {
      if (spec.lock && !readOnly) await (acquiring = acquireLock(options.output, spec.name, lockOwner(), { log }))
      // Only a lock holder may judge a temporary file abandoned: its pid is looked up on this host, and on a
      // shared output directory a stage of another node may be writing it. Read-only stages never sweep.
      if (acquiring) {
        const swept = (await Promise.all(STAGE_DIRS.map((dir) => sweepStaleTemps(dir(options.output))))).reduce((a, b) => a + b, 0)
        if (swept) log.info(`removed ${swept} temporary files left by killed runs`)
      }
      // The one cleanup of every way a stage ends: its own temporary files go, then the lock.
      const ctx = { options, argv: io.argv, log, env: io.env, progress, stdout: io.stdout }
      // Programs it started are stopped before its temporary files go (an internal error ends it while they run).
      said = await withOwnTemps(() => withOwnGroups(() => (io.internalError ? Promise.race([body(ctx), io.internalError]) : body(ctx))))
    } finally {
      io.onInterrupt?.(undefined)
      progress.clear()
      await releaseLock()
    }
    const summary = typeof said === 'string' || said === undefined ? said : said.map(visibleLine).join('\n')
    if (summary !== undefined) log.summary(summary)
    ended.line = summary ?? ''
    return 0
  } catch (err) {
    // One line, whatever outside text the error quotes (lib/visible.ts); the log and the record keep the same.
    const line = visibleLine(withRerunCommand(describeError(err), resolved))
    ended.line = line
    // Options that did not resolve (MEMORY=lots) still fail this directory's night: record it where it exists.
    if (!resolved && spec.lock) ended.output = await existingOutput(io).catch(() => undefined)
    // After a signal, the body's error is the signal's doing (its children died of it): the log keeps it, stderr
    // keeps the one line that says what stopped the stage.
    if (!ended.interrupted) io.stderr(`caloprod ${spec.name}: ${line}\n`)
    try {
      log?.info(`failed: ${line}`)
    } catch {
      // The log itself may be what failed (a full disk); stderr already has the line.
    }
    if (!(err instanceof CaloprodError) && io.env.CALOPROD_DEBUG) io.stderr(`${(err as Error)?.stack}\n`)
    return err instanceof CaloprodError ? err.exitCode : 1
  }
}
