import { readFileSync } from 'node:fs'
import { extname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { PAYLOAD_TYPES, type PayloadType } from './calibrations.js'
import { RUN_TYPE_NAME, type RunRange } from './run-types.js'
import { CURRENT_RULES } from './current.js'
import { SEED_RULES } from './seed.js'
import type { RuleSet } from './types.js'

/** The rule sets that ship with caloprod, by name. */
export const BUILTIN_RULES: Readonly<Record<string, RuleSet>> = { seed: SEED_RULES, current: CURRENT_RULES }

/** A dataset type prefix: letters, digits and `_`, so it can go into SQL as a LIKE pattern without quoting. */
const TYPE_PREFIX = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

/** A rules file that cannot be used; the message names the file and the key. */
export class RulesError extends Error {
  constructor(file: string, key: string | undefined, message: string) {
    super(`${file}: ${key ? `key ${key}: ` : ''}${message}`)
    this.name = 'RulesError'
  }
}

/**
 * `--rules NAME|PATH`: `seed`, `current`, or a YAML or JSON file that `extends` one (default seed) and overrides any
 * of its keys; `runTypes` adds or overrides single run types. Throws RulesError naming the file and key.
 */
export function resolveRules(spec: string, cwd: string): RuleSet {
  if (Object.hasOwn(BUILTIN_RULES, spec)) return BUILTIN_RULES[spec]
  if (!/[/.]/.test(spec)) {
    const expected = `${Object.keys(BUILTIN_RULES).join(', ')} or the path of a .yaml, .yml or .json file`
    throw new RulesError(spec, undefined, `no such rule set: expected ${expected}`)
  }
  const file = isAbsolute(spec) ? spec : resolve(cwd, spec)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new RulesError(file, undefined, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  let data: unknown
  try {
    const ext = extname(file).toLowerCase()
    if (ext === '.json') data = JSON.parse(text)
    else if (ext === '.yaml' || ext === '.yml') data = parseYaml(text)
    else throw new Error('expected a .yaml, .yml or .json file')
  } catch (err) {
    throw new RulesError(file, undefined, `does not parse: ${(err as Error).message.split('\n')[0]}`)
  }
  return rulesFromData(data, file)
}

type Check<T> = (value: unknown, key: string) => T

function rulesFromData(data: unknown, file: string): RuleSet {
  const fail = (key: string | undefined, message: string): never => {
    throw new RulesError(file, key, message)
  }
  if (!isObject(data)) return fail(undefined, 'expected a mapping of keys (extends, runTypes, minEvents, ...)')
  const base = data.extends === undefined ? SEED_RULES : BUILTIN_RULES[String(data.extends)]
  if (!base || (data.extends !== undefined && typeof data.extends !== 'string')) {
    return fail('extends', `expected one of ${Object.keys(BUILTIN_RULES).join(', ')}`)
  }
  const text: Check<string> = (v, key) =>
    typeof v === 'string' && v.trim() !== '' && !/[\n\r]/.test(v) ? v : fail(key, 'expected one line of text')
  const prefix: Check<string> = (v, key) =>
    typeof v === 'string' && TYPE_PREFIX.test(v) ? v : fail(key, `"${String(v)}" is not a dataset type (letters, digits and _)`)
  const prefixes: Check<string[]> = (v, key) =>
    Array.isArray(v) ? v.map((p, i) => prefix(p, `${key}[${i}]`)) : fail(key, 'expected a list of dataset types')
  const flag: Check<boolean> = (v, key) => (typeof v === 'boolean' ? v : fail(key, 'expected true or false'))
  const payloads: Check<PayloadType[]> = (v, key) => {
    if (!Array.isArray(v) || v.length === 0) return fail(key, 'expected a list of payload types')
    const known = (p: unknown): p is PayloadType => (PAYLOAD_TYPES as readonly unknown[]).includes(p)
    const list = v.map((p, i) => (known(p) ? p : fail(`${key}[${i}]`, `unknown payload type "${String(p)}"`)))
    return new Set(list).size === list.length ? list : fail(key, 'names a payload type twice')
  }
  const threshold: Check<number | undefined> = (v, key) => (v === null ? undefined
    : Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(key, 'expected a whole number of events, or null for none'))
  const tagRule: Check<RuleSet['tagRule']> = (v, key) =>
    v === 'earliest-file' || v === 'newest-qa-file' ? v : fail(key, 'expected earliest-file or newest-qa-file')
  const checks: { [K in keyof RuleSet]?: Check<RuleSet[K]> } = {
    description: text,
    histogramTypes: (v, key) => {
      const list = prefixes(v, key)
      return list.length ? list : fail(key, 'needs at least one dataset type')
    },
    excludedTypes: prefixes,
    twinType: prefix,
    countedTypes: prefixes,
    twinRequired: flag,
    tagRule,
    tagFileTypes: prefixes,
    minEvents: threshold,
    payloadTypes: payloads,
  }
  const rules: Record<string, unknown> = { ...base, name: file }
  for (const [key, value] of Object.entries(data)) {
    if (key === 'extends') continue
    if (key === 'runTypes') {
      rules.runTypes = { ...base.runTypes, ...runTypes(value, fail) }
      continue
    }
    const check = Object.hasOwn(checks, key) ? (checks as Record<string, Check<unknown>>)[key] : undefined
    if (!check) return fail(key, `unknown key; expected extends, runTypes, ${Object.keys(checks).join(', ')}`)
    rules[key] = check(value, key)
  }
  const result = rules as unknown as RuleSet
  if (result.tagRule === 'newest-qa-file' && result.tagFileTypes.length === 0) {
    fail('tagFileTypes', 'newest-qa-file needs the types whose newest file decides')
  }
  checkOverlaps(result.runTypes, fail)
  return result
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A file's `runTypes`: each `name: [first, last]` or `name: {first, last}`. */
function runTypes(value: unknown, fail: (key: string, message: string) => never): Record<string, RunRange> {
  if (!isObject(value)) return fail('runTypes', 'expected a mapping of run type to [first, last]')
  const out: Record<string, RunRange> = {}
  for (const [name, raw] of Object.entries(value)) {
    const key = `runTypes.${name}`
    if (!RUN_TYPE_NAME.test(name)) fail(key, 'a run type is lower-case letters and digits, starting with a letter')
    const [first, last] = Array.isArray(raw) ? raw : isObject(raw) ? [raw.first, raw.last] : []
    if (!(Array.isArray(raw) ? raw.length === 2 : isObject(raw) && Object.keys(raw).every((k) => k === 'first' || k === 'last'))) {
      fail(key, 'expected [first, last] or {first: N, last: N}')
    }
    if (![first, last].every((n) => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= 2147483647)) {
      fail(key, 'first and last must be run numbers (whole numbers from 0)')
    }
    if ((first as number) > (last as number)) fail(key, `the range starts at ${first}, after its end ${last}`)
    out[name] = { first: first as number, last: last as number }
  }
  return out
}

/** Two run types may not share a run: a run would be processed twice, under two names. */
function checkOverlaps(runTypes: Readonly<Record<string, RunRange>>, fail: (key: string, message: string) => never): void {
  const sorted = Object.entries(runTypes).sort(([, a], [, b]) => a.first - b.first)
  for (let i = 1; i < sorted.length; i++) {
    const [name, range] = sorted[i]
    const [before, previous] = sorted[i - 1]
    if (range.first <= previous.last) {
      fail(`runTypes.${name}`, `${range.first}–${range.last} overlaps ${before} (${previous.first}–${previous.last})`)
    }
  }
}
