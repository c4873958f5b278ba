// `method: checksum` state, byte-compatible with go-task v3.52 and later (internal/fingerprint/sources_checksum.go):
// one XXH3-128 over, for each matched source file in sorted order, its base name then its contents, written as
// "%x%x\n" of the hash's high and low halves into <fingerprint dir>/checksum/<task name with every character
// that is not a letter or digit replaced by "-">. Next to it this runner keeps a per-file manifest
// (<fingerprint dir>/sources/) so `--status --verbose` can say which source changed; go-task never reads it.
import { closeSync, openSync, readFileSync, readSync, rmSync } from 'node:fs'
import { basename, isAbsolute, join, relative, resolve } from 'node:path'
import { writeFileIfChanged } from '../files/atomic.js'
import { globFiles, type GlobEntry } from './glob.js'
import { Xxh3128 } from './xxh3.js'

/** The fingerprint of a task's sources as they are now. */
export interface SourcesFingerprint {
  /** go-task's checksum string. */
  hash: string
  /** Each source (relative to the task dir) with the XXH3-128 of its contents. */
  files: Record<string, string>
}

/**
 * go-task's normalizeFilename since v3.52: every character outside [[:alnum:]] (ASCII letters and digits; Go
 * matches one whole character at a time) becomes "-". Before v3.52 it was [^A-z0-9], which kept [ \ ] ^ _ and `.
 */
export function checksumFileName(taskName: string): string {
  return taskName.replace(/[^A-Za-z0-9]/gu, '-')
}

/**
 * Where go-task keeps checksums (its TempDir.Fingerprint): `<taskfile dir>/.task` by default; a relative
 * TASK_TEMP_DIR is taken from the Taskfile's directory; an absolute one (or one starting with `~`) is shared
 * between projects, so each project gets `<TASK_TEMP_DIR>/<base name of the project directory>`.
 */
export function fingerprintDir(taskfileDir: string, tempEnv: string | undefined, home: string | undefined): string {
  if (!tempEnv) return join(taskfileDir, '.task')
  if (tempEnv === '~' || tempEnv.startsWith('~/')) {
    if (!home) throw new Error(`TASK_TEMP_DIR ${tempEnv}: HOME is not set`)
    return join(home, tempEnv.slice(1), basename(resolve(taskfileDir)))
  }
  if (tempEnv.startsWith('~')) throw new Error(`TASK_TEMP_DIR ${tempEnv}: another user's home directory (~user) is not supported`)
  if (isAbsolute(tempEnv)) return join(tempEnv, basename(resolve(taskfileDir)))
  return join(taskfileDir, tempEnv)
}

/** Where go-task keeps a task's checksum. */
export function checksumPath(tempDir: string, taskName: string): string {
  return join(tempDir, 'checksum', checksumFileName(taskName))
}

/** Where this runner keeps the per-file record behind a checksum. */
export function manifestPath(tempDir: string, taskName: string): string {
  return join(tempDir, 'sources', `${checksumFileName(taskName)}.json`)
}

function feedFile(hashers: Xxh3128[], path: string): void {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(1 << 20)
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      for (const h of hashers) h.update(buf.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
}

/** Fingerprints the files `sources` selects under `dir` (unreadable files throw). */
export function fingerprintSources(dir: string, sources: readonly GlobEntry[]): SourcesFingerprint {
  const all = new Xxh3128()
  const files: Record<string, string> = {}
  for (const file of globFiles(dir, sources)) {
    // The name is hashed too, so renaming a source changes the checksum.
    all.update(basename(file))
    const own = new Xxh3128()
    feedFile([all, own], file)
    files[relative(dir, file)] = own.goTaskHex()
  }
  return { hash: all.goTaskHex(), files }
}

/** The recorded checksum, or undefined when there is none. */
export function readChecksum(tempDir: string, taskName: string): string | undefined {
  try {
    return readFileSync(checksumPath(tempDir, taskName), 'utf8').trim()
  } catch {
    return undefined
  }
}

function readManifest(tempDir: string, taskName: string): { hash: string; files: Record<string, string> } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(manifestPath(tempDir, taskName), 'utf8')) as { hash?: unknown; files?: unknown }
    if (typeof parsed.hash !== 'string' || typeof parsed.files !== 'object' || parsed.files === null) return undefined
    return { hash: parsed.hash, files: parsed.files as Record<string, string> }
  } catch {
    return undefined
  }
}

/**
 * Records `fingerprint` as the task's up-to-date state. Called only after every command succeeded
 * (go-task writes it before running them, issue #1178); each file is replaced atomically and fsynced
 * (lib/files/atomic.ts), the checksum last: a torn checksum after a crash would be a wrongly skipped stage.
 */
export async function writeChecksum(tempDir: string, taskName: string, fingerprint: SourcesFingerprint): Promise<void> {
  const manifest = { hash: fingerprint.hash, files: fingerprint.files }
  await writeFileIfChanged(manifestPath(tempDir, taskName), JSON.stringify(manifest, null, 2) + '\n')
  await writeFileIfChanged(checksumPath(tempDir, taskName), fingerprint.hash + '\n')
}

/** Forgets the task's recorded state, so a run that does not finish is never taken as up to date. */
export function removeChecksum(tempDir: string, taskName: string): void {
  rmSync(checksumPath(tempDir, taskName), { force: true })
  rmSync(manifestPath(tempDir, taskName), { force: true })
}

/** Why `current` differs from what was recorded: one line per added, removed or changed source. */
export function describeSourceChanges(tempDir: string, taskName: string, current: SourcesFingerprint): string[] {
  const recorded = readManifest(tempDir, taskName)
  // A manifest that does not describe the stored checksum (go-task wrote it since) cannot tell which file.
  if (!recorded || recorded.hash !== readChecksum(tempDir, taskName)) {
    return ['sources differ from the recorded checksum (no per-file record of it to say which)']
  }
  const reasons: string[] = []
  for (const [file, hash] of Object.entries(current.files)) {
    if (!(file in recorded.files)) reasons.push(`source added: ${file}`)
    else if (recorded.files[file] !== hash) reasons.push(`source changed: ${file}`)
  }
  for (const file of Object.keys(recorded.files)) if (!(file in current.files)) reasons.push(`source removed: ${file}`)
  if (reasons.length === 0) reasons.push('sources differ from the recorded checksum')
  return reasons
}

/** The generates patterns that match no existing file (each forces a run). */
export function missingGenerates(dir: string, generates: readonly GlobEntry[]): string[] {
  return generates.filter((g) => !g.exclude && globFiles(dir, [g]).length === 0).map((g) => g.glob)
}
