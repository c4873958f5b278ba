// A script's settings (caloprod({ settings }), lib/caloprod.ts) checked as the flags they stand for: each value goes
// through its flag's parser, so a script cannot set what a stage would refuse (a global tag of any text, a negative
// attempt count, an unknown backend), and an error names the setting.
import { UsageError } from '../errors.js'
import { FLAGS, type FlagSpec, type Options } from './flags.js'
import { parseValue } from './options.js'

/** Given to caloprod() itself, resolved with the run type (the rule set's run types, the output named for it). */
const OWN_FIELDS = new Set(['output', 'runType', 'rules'])

const byKey = new Map<string, FlagSpec>(Object.values(FLAGS).map((spec: FlagSpec) => [spec.key, spec]))

/**
 * `settings` as options, each parsed as its flag's value would be: a number or a string where the flag takes a value
 * (the flag's own text: `'7d'` or `604800` for a duration in seconds, `2` for 2 GB), an array where it may be repeated,
 * a boolean for a switch. A setting left undefined is not given. Throws UsageError naming the setting.
 */
export function checkSettings(settings: Partial<Options>, cwd: string): Partial<Options> {
  const checked: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue
    const source = `settings.${key}`
    const spec = byKey.get(key)
    if (!spec) throw new UsageError(`${source}: not a setting; the settings are ${[...byKey.keys()].filter((k) => !OWN_FIELDS.has(k)).join(', ')}`)
    if (OWN_FIELDS.has(key)) throw new UsageError(`${source}: give it as caloprod({ ${key} }), beside settings`)
    if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') throw new UsageError(`${source}: expected true or false`)
      checked[key] = value
      continue
    }
    const text = Array.isArray(value) && spec.repeat ? value.join(',') : typeof value === 'number' || typeof value === 'string' ? String(value) : undefined
    if (text === undefined || text === '') throw new UsageError(`${source}: expected ${spec.value ?? 'a value'}${spec.repeat ? ' or a list of them' : ''}`)
    checked[key] = parseValue(spec, text, source, cwd)
  }
  return checked as Partial<Options>
}
