import { resolve } from 'node:path'
import mri from 'mri'
import { UsageError } from '../errors.js'
import { FLAGS, type Env, type FlagName, type FlagSpec, type Options } from './flags.js'

export { FLAGS, type CdbBackendName, type Env, type FlagName, type Options } from './flags.js'

/** The environment variable that stands in for a flag not given: `--condor-log-dir` is CALOPROD_CONDOR_LOG_DIR. */
export const envName = (flag: string): string => `CALOPROD_${flag.toUpperCase().replace(/-/g, '_')}`

/** The defaults, some of which come from the environment. */
export function defaultOptions(env: Env, cwd: string): Options {
  const specs: FlagSpec[] = Object.values(FLAGS)
  const value = ({ kind, default: given }: FlagSpec) =>
    typeof given === 'function' ? given(env, cwd) : (given ?? (kind === 'boolean' ? false : undefined))
  return Object.fromEntries(specs.map((spec) => [spec.key, value(spec)])) as Options
}

/**
 * Resolves a stage's options: flag > CALOPROD_<FLAG> > default (some defaults read `env` too, such as OFFLINE_MAIN
 * and USER). Throws UsageError naming the flag for anything unknown, repeated, empty or malformed. `othersVars`:
 * whether a malformed CALOPROD_<FLAG> of a flag the stage does not take stops it too (the pipeline's stages).
 */
export function resolveOptions(
  argv: readonly string[], env: Env, cwd: string, accepted: readonly FlagName[], { othersVars = true } = {},
): Options {
  const specs = accepted.map((name) => [name, FLAGS[name] as FlagSpec] as const)
  // mri knows only the names in `alias` (keys or values) when `unknown` is set: list every flag there.
  const alias = Object.fromEntries(specs.map(([name, spec]) => [name, spec.alias ? [spec.alias] : []]))
  // mri mutates its options object: build it fresh on every call.
  const parsed = mri(normalized(argv), {
    boolean: specs.filter(([, s]) => s.kind === 'boolean').map(([n]) => n),
    string: specs.filter(([, s]) => s.kind === 'string').map(([n]) => n),
    alias,
    unknown: (flag: string) => {
      throw new UsageError(`unknown flag ${flag}; run with --help to see the flags this stage takes`)
    },
  })
  if (parsed._.length > 0) throw new UsageError(`unexpected argument "${parsed._[0]}"; run with --help for usage`)

  const options = defaultOptions(env, cwd)
  const given = new Set<FlagName>()
  for (const [name, spec] of specs) {
    let raw: unknown = parsed[name]
    let source = `--${name}`
    // Flag > CALOPROD_<FLAG> (set, not empty) > default: lets a Taskfile or a cron environment set what a flag would.
    if (raw === undefined && spec.kind === 'string' && env[envName(name)]) {
      source = envName(name)
      raw = env[source]
    }
    if (raw === undefined) continue
    if (Array.isArray(raw) && spec.repeat) raw = raw.join(',')
    // A switch given twice says it once: `task submit -- --quiet` gives the report it defers the Taskfile's --quiet
    // (STAGE_FLAGS) and this one. A flag with a value given twice is refused: which one was meant?
    if (Array.isArray(raw) && spec.kind === 'boolean' && new Set(raw).size === 1) raw = (raw as unknown[])[0]
    if (Array.isArray(raw)) throw new UsageError(`--${name} is given more than once`)
    if (spec.kind === 'boolean') {
      Object.assign(options, { [spec.key]: raw === true })
      continue
    }
    const text = String(raw)
    if (text === '' || raw === true) throw new UsageError(`--${name} needs a value (${spec.value ?? 'VALUE'})`)
    Object.assign(options, { [spec.key]: parseValue(spec, text, source, cwd) })
    given.add(name)
  }
  // The Taskfile exports CALOPROD_<FLAG> for the whole pipeline, so a bad one of a flag this stage does not take
  // (MEMORY=lots) stops the first stage, before the query runs, not the stage that uses it.
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const raw = env[envName(name)]
    if (othersVars && !accepted.includes(name) && raw) parseValue(spec, raw, envName(name), cwd)
  }
  if (!Object.hasOwn(options.rules.runTypes, options.runType)) {
    const source = parsed['run-type'] === undefined && env[envName('run-type')] ? envName('run-type') : '--run-type'
    const known = Object.keys(options.rules.runTypes).join(', ')
    throw new UsageError(`${source}: unknown run type "${options.runType}" in rule set ${options.rules.name}: expected one of ${known}`)
  }
  if (!given.has('min-events')) options.minEvents = options.rules.minEvents
  if (!given.has('output')) options.output = resolve(cwd, options.runType)
  return options
}

/** A flag's value checked by its parser; a UsageError names `source`, the flag or its variable. */
export function parseValue(spec: FlagSpec, text: string, source: string, cwd: string): unknown {
  try {
    return spec.parse ? spec.parse(text, cwd) : text
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message}`)
  }
}

/** The usage text of a stage: what it does, then each flag it takes. */
export function usage(command: string, summary: string, accepted: readonly FlagName[]): string {
  const lines = accepted.map((name) => {
    const spec: FlagSpec = FLAGS[name]
    const left = `${spec.alias ? `-${spec.alias}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`
    return `  ${left.padEnd(34)} ${spec.help}`
  })
  // The example names a flag this stage takes (min-events where it does), and none when it takes no value.
  const example = accepted.includes('min-events') ? 'min-events' : accepted.find((name) => FLAGS[name].kind === 'string')
  // A switch is read from the command line only (resolveOptions): CALOPROD_RECHECK=1 would do nothing, silently.
  const aSwitch = accepted.find((name) => FLAGS[name].kind === 'boolean' && name !== 'help')
  const switches = aSwitch ? `; a switch, such as --${aSwitch}, only on the command line` : ''
  const fromEnv = example ? `\nA flag not given may come from the environment: --${example} from ${envName(example)}, and so on${switches}.\n` : ''
  return `Usage: ${command} [flags]\n\n${summary}\n\nFlags:\n${lines.join('\n')}\n${fromEnv}`
}

/** Old names, still taken for old crontabs: they counted tries, not retries. */
const RENAMED: Record<string, string> = { '--db-retries': '--db-tries', '--cdb-retries': '--cdb-tries' }

/** Old names as the present ones, and `--flag -5` as `--flag=-5`: a (bad) value for the parser to name. */
function normalized(argv: readonly string[]): string[] {
  const args: string[] = []
  for (const arg of argv) {
    const [name, ...value] = arg.split('=')
    const previous = args.at(-1)
    const flagBefore = previous?.startsWith('--') && !previous.includes('=')
    if (flagBefore && /^-\d/.test(arg)) args[args.length - 1] = `${previous}=${arg}`
    else args.push(RENAMED[name] ? [RENAMED[name], ...value].join('=') : arg)
  }
  return args
}
