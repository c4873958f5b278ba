// `sources`/`generates` patterns, matched as go-task matches them (mvdan.cc/sh field expansion with
// globstar and nullglob, then directories dropped): `*` and `?` within one path component, `**` as a whole
// component for any depth of directories, names starting with "." only matched by a pattern starting with
// "." (and never by `**`), `exclude:` entries removing what earlier entries matched. Shell features the
// expansion would also apply ($VAR, ~, {a,b}, [abc], quotes) are rejected instead of half-supported.
import { readdirSync, statSync, type Dirent } from 'node:fs'
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
  if (bad) return `the character ${JSON.stringify(bad[0])} (shell expansion, brace or bracket patterns) is not supported in sources/generates`
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

function isFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** `dir` and every directory below it, skipping hidden ones and not following symlinks (bash globstar). */
function walkDirs(dir: string, out: string[]): void {
  out.push(dir)
  for (const e of entries(dir)) if (e.isDirectory() && !e.name.startsWith('.')) walkDirs(join(dir, e.name), out)
}

/** Everything below `dir` (files and directories, not hidden), for a trailing `**`. */
function walkAll(dir: string, out: string[]): void {
  for (const e of entries(dir)) {
    if (e.name.startsWith('.')) continue
    const path = join(dir, e.name)
    out.push(path)
    if (e.isDirectory()) walkAll(path, out)
  }
}

/** The existing files (not directories) one pattern matches, as absolute paths; `dir` anchors relative patterns. */
export function matchGlob(dir: string, pattern: string): string[] {
  const reason = unsupportedGlob(pattern)
  if (reason) throw new Error(`${JSON.stringify(pattern)}: ${reason}`)
  const abs = isAbsolute(pattern) ? join(pattern) : join(dir, pattern)
  if (!hasMeta(abs)) return isFile(abs) ? [abs] : []
  const components = abs.split('/').filter((c) => c !== '')
  let current = ['/']
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
          if (e.name.startsWith('.') && !component.startsWith('.')) continue
          if (re.test(e.name)) next.push(join(base, e.name))
        }
      } else next.push(join(base, component))
    }
    current = last ? next : next.filter(isDir)
  })
  return [...new Set(current)].filter(isFile)
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
