// The two quoting functions our Taskfile's templates use, with go-task's exact output: `shellQuote`/`q`
// (mvdan.cc/sh syntax.Quote for bash) and sprig's `quote` (Go's %q). Same bytes under both runners means
// the same command lines, and the same `task: [x] cmd` lines in the logs.

const SHELL_CHARS = new Set([';', '"', "'", '(', ')', '$', '|', '&', '>', '<', '`', ' ', '\t', '\r', '\n', '\\', '#', '{', '~', '*', '?', '[', '='])
const BASH_KEYWORDS = new Set(['!', '[[', ']]', 'case', 'coproc', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in', 'select', 'then', 'time', 'until', 'while', '{', '}'])

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

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
    let out = "$'"
    for (const c of chars) {
      const cp = c.codePointAt(0) ?? 0
      if (c === "'" || c === '\\') out += '\\' + c
      else if (isPrint(c)) out += c
      else if (c === '\x07') out += '\\a'
      else if (c === '\b') out += '\\b'
      else if (c === '\f') out += '\\f'
      else if (c === '\n') out += '\\n'
      else if (c === '\r') out += '\\r'
      else if (c === '\t') out += '\\t'
      else if (c === '\v') out += '\\v'
      else if (cp < 0x80) out += '\\x' + hex(cp, 2)
      else if (cp < 0x10000) out += '\\u' + hex(cp, 4)
      else out += '\\U' + hex(cp, 8)
    }
    return out + "'"
  }
  if (!s.includes("'")) return `'${s}'`
  return '"' + s.replace(/["\\`$]/g, (c) => '\\' + c) + '"'
}

/** Go's %q of a string (strconv.Quote): sprig's `quote`. */
export function goQuote(s: string): string {
  let out = '"'
  for (const c of s) {
    const cp = c.codePointAt(0) ?? 0
    if (c === '"' || c === '\\') out += '\\' + c
    else if (isPrint(c)) out += c
    else if (c === '\x07') out += '\\a'
    else if (c === '\b') out += '\\b'
    else if (c === '\f') out += '\\f'
    else if (c === '\n') out += '\\n'
    else if (c === '\r') out += '\\r'
    else if (c === '\t') out += '\\t'
    else if (c === '\v') out += '\\v'
    else if (cp < 0x80) out += '\\x' + hex(cp, 2)
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4)
    else out += '\\U' + hex(cp, 8)
  }
  return out + '"'
}
