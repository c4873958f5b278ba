/**
 * A JSON value as parsed by `parseExactJson`: every integer is a `bigint`, so 9223372036854775807 (nopayloaddb's
 * open end, 2^63-1) stays exact; a number with a fraction or exponent is a `number`.
 */
export type ExactJson = null | boolean | number | bigint | string | ExactJson[] | { [key: string]: ExactJson }

/** Where and why a text is not JSON. */
export class ExactJsonError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at character ${position + 1}`)
    this.name = 'ExactJsonError'
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y

/**
 * Parses JSON text exactly (see ExactJson). Node 20's JSON.parse cannot hand a reviver the source of a number,
 * so 2^63-1 would come back as 9223372036854775808: this small parser keeps integers as bigint instead.
 * Throws ExactJsonError naming the character where the text stops being JSON (a cut-off answer ends early).
 */
export function parseExactJson(text: string): ExactJson {
  let at = 0
  const skip = () => {
    while (at < text.length && WHITESPACE.has(text[at])) at++
  }
  const fail = (what: string): never => {
    throw new ExactJsonError(
      at >= text.length ? `the text ends where ${what} should follow` : `unexpected ${JSON.stringify(text[at])}, expected ${what}`,
      at,
    )
  }
  const literal = (word: string, value: ExactJson): ExactJson => {
    if (text.startsWith(word, at)) {
      at += word.length
      return value
    }
    return fail('a value')
  }
  const string = (): string => {
    STRING.lastIndex = at
    const match = STRING.exec(text)
    if (!match) return fail('a complete string')
    at += match[0].length
    return JSON.parse(match[0]) as string
  }
  const value = (depth: number): ExactJson => {
    if (depth > 64) fail('less nesting')
    skip()
    const c = text[at]
    if (c === '"') return string()
    if (c === '[') {
      at++
      const items: ExactJson[] = []
      skip()
      if (text[at] === ']') return at++, items
      for (;;) {
        items.push(value(depth + 1))
        skip()
        if (text[at] === ',') at++
        else if (text[at] === ']') return at++, items
        else fail('"," or "]"')
      }
    }
    if (c === '{') {
      at++
      const object: { [key: string]: ExactJson } = {}
      skip()
      if (text[at] === '}') return at++, object
      for (;;) {
        skip()
        if (text[at] !== '"') fail('a key')
        const key = string()
        skip()
        if (text[at] !== ':') fail('":"')
        at++
        object[key] = value(depth + 1)
        skip()
        if (text[at] === ',') at++
        else if (text[at] === '}') return at++, object
        else fail('"," or "}"')
      }
    }
    if (c === 't') return literal('true', true)
    if (c === 'f') return literal('false', false)
    if (c === 'n') return literal('null', null)
    NUMBER.lastIndex = at
    const match = NUMBER.exec(text)
    if (!match) return fail('a value')
    at += match[0].length
    return match[1] === undefined && match[2] === undefined ? BigInt(match[0]) : Number(match[0])
  }
  const result = value(0)
  skip()
  if (at < text.length) fail('the end of the text')
  return result
}

/** A value parsed by parseExactJson as JSON text again, for a message: JSON.stringify alone refuses a bigint. */
export function formatExactJson(value: ExactJson): string {
  // Each bigint goes out as a string marked by NULs (escaped as \u0000), then loses its quotes and marks.
  const marked = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `\u0000${item}\u0000` : item))
  return marked.replace(/"\\u0000(-?\d+)\\u0000"/g, '$1')
}
