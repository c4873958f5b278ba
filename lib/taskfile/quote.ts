// The two quoting functions our Taskfile's templates use, with go-task's exact output: `shellQuote`/`q`
// (mvdan.cc/sh syntax.Quote for bash) and sprig's `quote` (Go's %q). Same bytes under both runners means
// the same command lines, and the same `task: [x] cmd` lines in the logs.

const SHELL_CHARS = new Set([
  ';', '"', "'", '(', ')', '$', '|', '&', '>', '<', '`', ' ', '\t', '\r', '\n', '\\', '#', '{', '~', '*', '?', '[', '=',
])
const BASH_KEYWORDS = new Set([
  '!', '[[', ']]', 'case', 'coproc', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in',
  'select', 'then', 'time', 'until', 'while', '{', '}',
])

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

const C_ESCAPES: Record<string, string> = { '\x07': 'a', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't', '\v': 'v' }

/** One character inside Go's "…" or bash's $'…' (the same C-style escapes): `quote` and backslash escaped. */
function escapeChar(c: string, quote: string): string {
  const cp = c.codePointAt(0) ?? 0
  if (c === quote || c === '\\') return '\\' + c
  if (isPrint(c)) return c
  if (C_ESCAPES[c]) return '\\' + C_ESCAPES[c]
  if (cp < 0x80) return '\\x' + hex(cp, 2)
  return cp < 0x10000 ? '\\u' + hex(cp, 4) : '\\U' + hex(cp, 8)
}

/**
 * Quotes `s` for bash the way mvdan.cc/sh's syntax.Quote does (go-task's `shellQuote` and `q`):
 * unchanged when safe, else '…', else "…" when it holds a single quote, else $'…' for unprintable text.
 */
export function shellQuote(s: string): string {
  if (s === '') return "''"
  if (s.includes('\0')) throw new Error('shell strings cannot contain null bytes')
  const chars = Array.from(s)
  const shellChars = chars.some((c) => SHELL_CHARS.has(c))
  const nonPrintable = chars.some((c) => !isPrint(c))
  if (!shellChars && !nonPrintable && !BASH_KEYWORDS.has(s)) return s
  if (nonPrintable) {
    return "$'" + chars.map((c) => escapeChar(c, "'")).join('') + "'"
  }
  if (!s.includes("'")) return `'${s}'`
  return '"' + s.replace(/["\\`$]/g, (c) => '\\' + c) + '"'
}

/** Go's %q of a string (strconv.Quote): sprig's `quote`. */
export function goQuote(s: string): string {
  return '"' + Array.from(s).map((c) => escapeChar(c, '"')).join('') + '"'
}
