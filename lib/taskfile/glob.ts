// `sources`/`generates` patterns, matched as go-task v3.53 and later match them: `*` and `?` within one path
// component, `**` as a whole component for any depth of directories; before a `**` a name starting with "."
// is only matched by a pattern component starting with ".", from a `**` on hidden files and directories are
// matched like any other (v3.53); a match that is a dangling symlink drops the whole pattern (go-task's stat of
// each match fails, and fingerprint.Globs skips a pattern that errs); `exclude:` entries remove what earlier
// entries matched. Shell features the expansion would also apply ($VAR, ~, {a,b}, [abc], quotes) are rejected
// instead of half-supported.
import { lstatSync, readdirSync, statSync, type Dirent } from 'node:fs'
import { isAbsolute, join } from 'node:path'

/** One `sources`/`generates` entry: a pattern, or `exclude: pattern`. */
export interface GlobEntry {
  glob: string
  exclude: boolean
}

const UNSUPPORTED = /[[{$'"\\`;|<>]/

/** The reason a pattern cannot be matched by this runner, or undefined when it can. */
export function unsupportedGlob(pattern: string): string | undefined {
  const bad = UNSUPPORTED.exec(pattern)
  if (bad) {
    return `the character ${JSON.stringify(bad[0])} (shell expansion, brace or bracket patterns) is not supported in sources/generates`
  }
  if (/(^|\/)~/.test(pattern)) return 'a "~" home directory is not supported in sources/generates'
  if (pattern.startsWith('#')) return 'a pattern starting with "#" is a shell comment'
  return undefined
}

const hasMeta = (s: string) => /[*?]/.test(s)

function componentRegex(component: string): RegExp {
  const body = component.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*+/g, '[^/]*').replace(/\?/g, '[^/]')
  return new RegExp(`^${body}$`, 's')
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** `dir` and every directory below it, hidden ones too, not following symlinks. */
function walkDirs(dir: string, out: string[]): void {
  out.push(dir)
  for (const e of entries(dir)) if (e.isDirectory()) walkDirs(join(dir, e.name), out)
}

/** Everything below `dir` (files and directories, hidden ones too), for a trailing `**`. */
function walkAll(dir: string, out: string[]): void {
  for (const e of entries(dir)) {
    const path = join(dir, e.name)
    out.push(path)
    if (e.isDirectory()) walkAll(path, out)
  }
}

/** Whether `path` is a directory entry of any kind (a dangling symlink is one). */
function exists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/**
 * The existing files (not directories) one pattern matches, as absolute paths; `dir` anchors relative patterns.
 * Empty when a match cannot be followed (a dangling symlink), as go-task drops such a pattern whole.
 */
export function matchGlob(dir: string, pattern: string): string[] {
  const reason = unsupportedGlob(pattern)
  if (reason) throw new Error(`${JSON.stringify(pattern)}: ${reason}`)
  const abs = isAbsolute(pattern) ? join(pattern) : join(dir, pattern)
  let current = [abs]
  if (hasMeta(abs)) {
    const components = abs.split('/').filter((c) => c !== '')
    let afterGlobstar = false
    current = ['/']
    components.forEach((component, index) => {
      const last = index === components.length - 1
      const next: string[] = []
      for (const base of current) {
        if (component === '**') {
          if (last) walkAll(base, next)
          else walkDirs(base, next)
        } else if (hasMeta(component)) {
          const re = componentRegex(component)
          for (const e of entries(base)) {
            if (e.name.startsWith('.') && !component.startsWith('.') && !afterGlobstar) continue
            if (re.test(e.name)) next.push(join(base, e.name))
          }
        } else next.push(join(base, component))
      }
      if (component === '**') afterGlobstar = true
      current = last ? next.filter(exists) : next.filter(isDir)
    })
  }
  const files: string[] = []
  for (const path of new Set(current)) {
    let info
    try {
      info = statSync(path)
    } catch {
      return []
    }
    if (!info.isDirectory()) files.push(path)
  }
  return files
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/**
 * The files a list of entries selects (go-task's fingerprint.Globs): entries apply in order, a later
 * `exclude:` removes what earlier ones matched, and the result is sorted bytewise like Go's sort.Strings.
 */
export function globFiles(dir: string, list: readonly GlobEntry[]): string[] {
  const selected = new Map<string, boolean>()
  for (const entry of list) for (const file of matchGlob(dir, entry.glob)) selected.set(file, !entry.exclude)
  return [...selected].filter(([, keep]) => keep).map(([file]) => file).sort(byteOrder)
}
