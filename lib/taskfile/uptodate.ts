// Whether a task is up to date, as go-task's fingerprint.IsTaskUpToDate decides it, plus the reasons when
// it is not (for --status --verbose). With both `status` and `sources`, both must say up to date; with
// neither, a task always runs. Nothing is written here: the checksum is recorded after a successful run.
import { describeSourceChanges, fingerprintSources, missingGenerates, readChecksum, type SourcesFingerprint } from './checksum.js'
import type { CompiledTask } from './compile.js'
import { commandEnv, runShell, type Writer } from './shell.js'

export interface UpToDate {
  upToDate: boolean
  /** Why the task would run (empty when up to date). */
  reasons: string[]
  /** The sources' fingerprint, when the task has sources and they could be read. */
  fingerprint?: SourcesFingerprint
}

export interface UpToDateOptions {
  tempDir: string
  processEnv: Readonly<Record<string, string | undefined>>
  stderr: Writer
  verbose: boolean
  signal?: AbortSignal
}

/** Runs the status commands in order; the first that fails makes the task not up to date. */
async function statusReasons(task: CompiledTask, options: UpToDateOptions): Promise<string[]> {
  const env = commandEnv(options.processEnv, task.env)
  for (const command of task.status) {
    let code: number
    try {
      code = (await runShell(command, { cwd: task.dir, env, stdio: 'quiet', signal: options.signal })).code
    } catch (err) {
      return [`status command could not start (${err instanceof Error ? err.message : String(err)}): ${command}`]
    }
    if (code !== 0) {
      if (options.verbose) options.stderr.write(`task: status command ${command} exited non-zero: exit status ${code}\n`)
      return [`status command failed (exit status ${code}): ${command}`]
    }
    if (options.verbose) options.stderr.write(`task: status command ${command} exited zero\n`)
  }
  return []
}

/** Compares the sources with the recorded checksum and checks every `generates` pattern has a file. */
function sourcesReasons(task: CompiledTask, options: UpToDateOptions): { reasons: string[]; fingerprint?: SourcesFingerprint } {
  if (task.def.method === 'none') return { reasons: ['method is "none": sources never make it up to date'] }
  let fingerprint: SourcesFingerprint
  try {
    fingerprint = fingerprintSources(task.dir, task.sources)
  } catch (err) {
    return { reasons: [`cannot checksum the sources: ${err instanceof Error ? err.message : String(err)}`] }
  }
  const reasons: string[] = []
  const recorded = readChecksum(options.tempDir, task.name)
  if (recorded === undefined) {
    reasons.push(`no checksum recorded for "${task.name}" (never run here, or its last run failed or was interrupted)`)
  } else if (recorded !== fingerprint.hash) reasons.push(...describeSourceChanges(options.tempDir, task.name, fingerprint))
  try {
    for (const pattern of missingGenerates(task.dir, task.generates)) reasons.push(`generates "${pattern}" matches no file`)
  } catch (err) {
    reasons.push(`cannot check the generated files: ${err instanceof Error ? err.message : String(err)}`)
  }
  return { reasons, fingerprint }
}

/** Decides whether `task` would run, and why. */
export async function checkUpToDate(task: CompiledTask, options: UpToDateOptions): Promise<UpToDate> {
  const hasStatus = task.status.length > 0
  const hasSources = task.sources.length > 0
  if (!hasStatus && !hasSources) return { upToDate: false, reasons: ['it has no sources and no status, so it always runs'] }
  const reasons = hasStatus ? await statusReasons(task, options) : []
  let fingerprint: SourcesFingerprint | undefined
  if (hasSources) {
    const sources = sourcesReasons(task, options)
    reasons.push(...sources.reasons)
    fingerprint = sources.fingerprint
  }
  return { upToDate: reasons.length === 0, reasons, fingerprint }
}
