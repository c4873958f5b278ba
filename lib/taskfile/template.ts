// The subset of Go text/template that go-task evaluates in a Taskfile and that our Taskfile uses:
// `{{.VAR}}`, pipes, string/number/bool literals, parentheses, `{{-`/`-}}` trimming, and the functions
// `default`, `quote`, `shellQuote` and `q`. Anything else (if/range/with, $variables, other functions,
// nested fields) is a TemplateError at parse time, so the Taskfile cannot come to depend on a construct
// only go-task understands.
import { goQuote, shellQuote } from './quote.js'
import { formatValue, GoFloat, goTypeName, isEmpty, type Value } from './value.js'

/** A template that cannot be parsed or evaluated by this runner; callers add where the template is. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TemplateError'
  }
}

type Operand =
  | { kind: 'field'; name: string }
  | { kind: 'literal'; value: Value }
  | { kind: 'call'; fn: string; args: Operand[] }
  | { kind: 'pipeline'; pipeline: Operand[] }

type Part = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Operand[] }

/** A parsed template. */
export interface Template {
  source: string
  parts: Part[]
}

/** Variables as a template sees them: a missing name is nil. */
export type Scope = ReadonlyMap<string, Value>

/** The functions this runner implements, with go-task's (sprig's and its own) semantics. */
export const SUPPORTED_FUNCTIONS = ['default', 'quote', 'shellQuote', 'q'] as const
const FUNCTIONS = new Set<string>(SUPPORTED_FUNCTIONS)
const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'])

type Token =
  | { t: 'pipe' }
  | { t: 'open' }
  | { t: 'close' }
  | { t: 'field'; name: string }
  | { t: 'ident'; name: string }
  | { t: 'literal'; value: Value }

function unsupported(what: string): never {
  throw new TemplateError(
    `${what} is not supported by this runner ` +
      `(supported: {{.VAR}}, pipes, string/number literals and the functions ${SUPPORTED_FUNCTIONS.join(', ')})`,
  )
}

/** Go string-literal escapes (strconv.Unquote) for "…" literals. */
function unquoteGo(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, esc: string) => {
    switch (esc[0]) {
      case 'a': return '\x07'
      case 'b': return '\b'
      case 'f': return '\f'
      case 'n': return '\n'
      case 'r': return '\r'
      case 't': return '\t'
      case 'v': return '\v'
      case '\\': return '\\'
      case '"': return '"'
      case 'x': case 'u': case 'U': return String.fromCodePoint(parseInt(esc.slice(1), 16))
      default:
        if (/^[0-7]{3}$/.test(esc)) return String.fromCodePoint(parseInt(esc, 8))
        throw new TemplateError(`invalid escape \\${esc} in string literal`)
    }
  })
}

/** A Go number literal at the start of the text: hex, octal, decimal or float, `_` separators allowed. */
const GO_NUMBER = /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)/

function lexAction(src: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '|') { tokens.push({ t: 'pipe' }); i++; continue }
    if (c === '(') { tokens.push({ t: 'open' }); i++; continue }
    if (c === ')') { tokens.push({ t: 'close' }); i++; continue }
    if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      if (j >= src.length) throw new TemplateError('unterminated quoted string')
      tokens.push({ t: 'literal', value: unquoteGo(src.slice(i + 1, j)) })
      i = j + 1
      continue
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j < 0) throw new TemplateError('unterminated raw quoted string')
      tokens.push({ t: 'literal', value: src.slice(i + 1, j) })
      i = j + 1
      continue
    }
    if (c === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i))
      if (!m) unsupported(`"." on its own (the whole variable map)`)
      if (src[i + m[0].length] === '.') unsupported(`the nested field ".${m[1]}${src.slice(i + m[0].length).split(/[\s|)]/)[0]}"`)
      tokens.push({ t: 'field', name: m[1] })
      i += m[0].length
      continue
    }
    const num = GO_NUMBER.exec(src.slice(i))
    if (num && (/[0-9]/.test(c) || ((c === '-' || c === '+') && /[0-9.]/.test(src[i + 1] ?? '')))) {
      const text = num[0].replace(/_/g, '')
      const isFloat = /[.eE]/.test(text) && !/^[+-]?0[xX]/.test(text)
      tokens.push({ t: 'literal', value: isFloat ? new GoFloat(Number(text)) : Number(text) })
      i += num[0].length
      continue
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (id) {
      const name = id[0]
      if (KEYWORDS.has(name)) unsupported(`the "${name}" action`)
      if (name === 'true' || name === 'false') tokens.push({ t: 'literal', value: name === 'true' })
      else if (name === 'nil') tokens.push({ t: 'literal', value: null })
      else tokens.push({ t: 'ident', name })
      i += name.length
      continue
    }
    if (c === '$') unsupported('a template variable ($…)')
    if (c === "'") unsupported('a character constant')
    if (src.startsWith('/*', i)) unsupported('a template comment')
    unsupported(`the character ${JSON.stringify(c)}`)
  }
  return tokens
}

function parsePipeline(tokens: Token[], pos: { i: number }, nested: boolean): Operand[] {
  const commands: Operand[] = []
  for (;;) {
    const words: Operand[] = []
    let fn: string | undefined
    while (pos.i < tokens.length) {
      const tok = tokens[pos.i]
      if (tok.t === 'pipe' || tok.t === 'close') break
      pos.i++
      if (tok.t === 'open') {
        words.push({ kind: 'pipeline', pipeline: parsePipeline(tokens, pos, true) })
        if (tokens[pos.i]?.t !== 'close') throw new TemplateError('unclosed left paren')
        pos.i++
      } else if (tok.t === 'ident') {
        if (!FUNCTIONS.has(tok.name)) unsupported(`the function "${tok.name}"`)
        if (words.length === 0 && fn === undefined) fn = tok.name
        else words.push({ kind: 'call', fn: tok.name, args: [] })
      } else if (tok.t === 'field') words.push({ kind: 'field', name: tok.name })
      else words.push({ kind: 'literal', value: tok.value })
    }
    if (fn !== undefined) commands.push({ kind: 'call', fn, args: words })
    else if (words.length === 0) throw new TemplateError(commands.length === 0 ? 'missing value for command' : 'missing command after "|"')
    else if (words.length > 1 || commands.length > 0) throw new TemplateError("can't give argument to non-function")
    else commands.push(words[0])
    const next = tokens[pos.i]
    if (next?.t === 'pipe') { pos.i++; continue }
    if (next?.t === 'close' && !nested) throw new TemplateError('unexpected right paren')
    return commands
  }
}

/** Parses `source`, throwing a TemplateError for anything outside the supported subset. */
export function parseTemplate(source: string): Template {
  const parts: Part[] = []
  let i = 0
  let trimNext = false
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    let text = source.slice(i, open < 0 ? source.length : open)
    if (trimNext) text = text.replace(/^\s+/, '')
    trimNext = false
    if (open < 0) {
      if (text) parts.push({ kind: 'text', text })
      break
    }
    let start = open + 2
    if (/^-\s/.test(source.slice(start))) {
      text = text.replace(/\s+$/, '')
      start += 1
    }
    if (text) parts.push({ kind: 'text', text })
    // Find the closing "}}" outside string literals.
    let j = start
    let close = -1
    while (j < source.length) {
      const c = source[j]
      if (c === '"') {
        j++
        while (j < source.length && source[j] !== '"') j += source[j] === '\\' ? 2 : 1
        j++
      } else if (c === '`') {
        j = source.indexOf('`', j + 1) + 1
        if (j === 0) throw new TemplateError('unterminated raw quoted string')
      } else if (source.startsWith('}}', j)) {
        close = j
        break
      } else j++
    }
    if (close < 0) throw new TemplateError('unclosed action')
    let inner = source.slice(start, close)
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1)
      trimNext = true
    }
    if (/^\s*\/\*/.test(inner)) unsupported('a template comment')
    const tokens = lexAction(inner)
    if (tokens.length === 0) throw new TemplateError('missing value for command')
    const pos = { i: 0 }
    const pipeline = parsePipeline(tokens, pos, false)
    if (pos.i !== tokens.length) throw new TemplateError('unexpected token in action')
    parts.push({ kind: 'action', pipeline })
    i = close + 2
  }
  return { source, parts }
}

function callFunction(fn: string, args: Value[]): Value {
  switch (fn) {
    case 'default':
      if (args.length === 0) throw new TemplateError('wrong number of args for default: want at least 1 got 0')
      return args.length < 2 || isEmpty(args[1]) ? args[0] : args[1]
    case 'quote':
      return args.filter((a) => a !== null).map((a) => goQuote(formatValue(a))).join(' ')
    default: {
      if (args.length !== 1) throw new TemplateError(`wrong number of args for ${fn}: want 1 got ${args.length}`)
      const [arg] = args
      if (typeof arg !== 'string') {
        throw new TemplateError(
          arg === null
            ? `error calling ${fn}: invalid value; expected string`
            : `wrong type for value; expected string; got ${goTypeName(arg)}`,
        )
      }
      return shellQuote(arg)
    }
  }
}

function evaluate(op: Operand, scope: Scope, piped?: Value): Value {
  switch (op.kind) {
    case 'field':
      return scope.get(op.name) ?? null
    case 'literal':
      return op.value
    case 'pipeline':
      return evaluatePipeline(op.pipeline, scope)
    case 'call': {
      const args = op.args.map((a) => evaluate(a, scope))
      if (piped !== undefined) args.push(piped)
      return callFunction(op.fn, args)
    }
  }
}

function evaluatePipeline(pipeline: Operand[], scope: Scope): Value {
  let value: Value | undefined
  for (const command of pipeline) value = evaluate(command, scope, value)
  return value ?? null
}

/** Renders a parsed template (or source text) with `scope`, as go-task v3 does ("<no value>" is removed). */
export function renderTemplate(template: Template | string, scope: Scope): string {
  const t = typeof template === 'string' ? parseTemplate(template) : template
  let out = ''
  for (const part of t.parts) out += part.kind === 'text' ? part.text : formatValue(evaluatePipeline(part.pipeline, scope))
  return out.replaceAll('<no value>', '')
}

/** The variable names a template reads (`.NAME`), for checks made before rendering. */
export function templateFields(template: Template): string[] {
  const names: string[] = []
  const visit = (op: Operand) => {
    if (op.kind === 'field') names.push(op.name)
    else if (op.kind === 'call') op.args.forEach(visit)
    else if (op.kind === 'pipeline') op.pipeline.forEach(visit)
  }
  for (const part of template.parts) if (part.kind === 'action') part.pipeline.forEach(visit)
  return names
}
