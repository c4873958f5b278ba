import { resolve } from 'node:path'
import mri from 'mri'
import { UsageError } from '../errors.js'
import { SEED_RULES } from '../rules/seed.js'
import type { RuleSet } from '../rules/types.js'
import { GLOBAL_TAG } from '../rules/calibrations.js'
import type { RunType } from '../rules/run-types.js'
import { FLAGS, type CdbBackendName, type FlagName, type FlagSpec } from './flags.js'

export { CDB_BACKENDS, FLAGS, type CdbBackendName, type FlagName } from './flags.js'

/** The process environment, passed in so tests can give a fake one. */
export type Env = Record<string, string | undefined>

/** Every setting of every stage, resolved: flag > environment > default. */
export interface Options {
  help: boolean
  /** @default 'run3auau' */
  runType: RunType
  /** A (run, tag) qualifies when its event count is greater than this; undefined: no threshold. @default the rule set's */
  minEvents: number | undefined
  /** What selects files, runs and payloads (lib/rules/). @default seed */
  rules: RuleSet
  /** Absolute path of the output directory. @default the run type's name, in the working directory */
  output: string
  verbose: boolean
  /** No summary line on stdout (errors still go to stderr). */
  quiet: boolean
  /** FileCatalog URL; overrides the `PG*` variables. */
  dbUrl: string | undefined
  /** Seconds a FileCatalog statement may run. @default 600 */
  statementTimeout: number
  /** Ask for the whole selection even when the catalog's fingerprint is the last query's. */
  fullQuery: boolean
  /** Tries of a catalog query that fails for a passing reason (server restarting, dropped connection). @default 4 */
  dbTries: number
  /** CDB lookups at once: filter-datasets processes, or requests with `--cdb rest`. @default 4, 16 for rest */
  jobs: number | undefined
  /** File-system stats in flight (lists); the stage's thread pool is sized to it. @default 64 */
  statConcurrency: number
  /** Ask the CDB about every run, ignoring the cache of settled runs. */
  recheck: boolean
  /** Seconds after which a settled run is asked again. @default 7 days */
  recheckAfter: number
  /** Seconds one external call (a filter-datasets shard, condor_submit) may take. @default 1800 */
  timeout: number
  /** Tries of a filter-datasets shard that fails (crash, timeout, bad output) before the check stage fails. @default 3 */
  cdbTries: number
  /** @default $OFFLINE_MAIN/bin/CaloCDB-FilterDatasets */
  binFilterDatasets: string | undefined
  /** How check asks the CDB: the seed's filter-datasets, or nopayloaddb's REST API directly. @default 'filter-datasets' */
  cdb: CdbBackendName
  /** nopayloaddb's API root for `--cdb rest`. @default from the file named by NOPAYLOADCLIENT_CONF */
  cdbUrl: string | undefined
  /** The CDB global tag the maps are looked up under. @default 'newcdbtag' (upload acts only when it is given) */
  globalTag: string
  /** @default $OFFLINE_MAIN/bin/CaloCDB-GenStatus */
  binGenStatus: string | undefined
  /** A job wrapper script to use instead of the generated genStatus.sh. */
  condorScript: string | undefined
  /** @default /tmp/$USER/dump */
  condorLogDir: string
  /** GB requested per job. @default 0.5 */
  memory: number
  doCondorSubmit: boolean
  /** Most runs submitted per invocation. @default 20000 */
  maxJobs: number
  /** Submissions of one (run, tag) before it is left for a person. @default 3 */
  maxAttempts: number
  /** Insert the finished runs' payloads into the CDB (without it the upload stage only plans). */
  doCdbUpload: boolean
  /** Print JSON for scripts instead of lines (status). */
  json: boolean
  /** Print the report's page on stdout instead of writing it (read-only: no log, no file in the output directory). */
  stdout: boolean
  /** status: only the runs whose state changed in the last this many seconds. */
  since: number | undefined
  /** Write the report's page here instead of <output>/report.html (read-only for the output directory). */
  outputFile: string | undefined
  /** GB a job held for memory may be given at most. @default 4 */
  maxMemory: number
  /** A job held for memory is released with its memory times this. @default 1.5 */
  memoryScale: number
  /** The runs `why` tells the story of. */
  runs: number[] | undefined
  /** `why`: ask the catalog and the CDB now too. */
  live: boolean
}


/** The environment variable that stands in for a flag not given: `--condor-log-dir` is CALOPROD_CONDOR_LOG_DIR. */
export function envName(flag: string): string {
  return `CALOPROD_${flag.toUpperCase().replace(/-/g, '_')}`
}

/** The defaults, some of which come from the environment. */
export function defaultOptions(env: Env, cwd: string): Options {
  const bin = env.OFFLINE_MAIN ? `${env.OFFLINE_MAIN}/bin` : undefined
  return {
    help: false,
    runType: 'run3auau',
    minEvents: SEED_RULES.minEvents,
    rules: SEED_RULES,
    output: resolve(cwd, 'run3auau'),
    verbose: false,
    quiet: false,
    dbUrl: undefined,
    statementTimeout: 600,
    fullQuery: false,
    dbTries: 4,
    jobs: undefined,
    statConcurrency: 64,
    recheck: false,
    recheckAfter: 7 * 86400,
    timeout: 1800,
    cdbTries: 3,
    binFilterDatasets: bin && `${bin}/CaloCDB-FilterDatasets`,
    binGenStatus: bin && `${bin}/CaloCDB-GenStatus`,
    cdb: 'filter-datasets',
    cdbUrl: undefined,
    globalTag: GLOBAL_TAG,
    condorScript: undefined,
    condorLogDir: `/tmp/${env.USER || env.LOGNAME || 'caloprod'}/dump`,
    memory: 0.5,
    doCondorSubmit: false,
    maxJobs: 20000,
    maxAttempts: 3,
    doCdbUpload: false,
    json: false,
    stdout: false,
    outputFile: undefined,
    since: undefined,
    maxMemory: 4,
    memoryScale: 1.5,
    runs: undefined,
    live: false,
  }
}

/**
 * Resolves a stage's options: a flag given wins over its CALOPROD_<FLAG> environment variable (when set and not
 * empty), which wins over the default (some defaults read `env` too, such as OFFLINE_MAIN and USER).
 * Throws UsageError naming the flag for anything unknown, repeated, empty or malformed.
 */
export function resolveOptions(argv: readonly string[], env: Env, cwd: string, accepted: readonly FlagName[]): Options {
  const specs = accepted.map((name) => [name, FLAGS[name] as FlagSpec] as const)
  // mri knows only the names in `alias` (keys or values) when `unknown` is set: list every flag there.
  const alias: Record<string, string[]> = {}
  for (const [name, spec] of specs) alias[name] = spec.alias ? [spec.alias] : []
  // mri mutates its options object: build it fresh on every call.
  // A negative number after a flag is its (bad) value, not a short flag: let the value's parser name it.
  const args = joinNegativeValues(argv.map(renamedFlag))
  const parsed = mri(args, {
    boolean: specs.filter(([, s]) => s.kind === 'boolean').map(([n]) => n),
    string: specs.filter(([, s]) => s.kind === 'string').map(([n]) => n),
    alias,
    unknown: (flag: string) => {
      throw new UsageError(`unknown flag ${flag}; run with --help to see the flags this stage takes`)
    },
  })
  if (parsed._.length > 0) throw new UsageError(`unexpected argument "${parsed._[0]}"; run with --help for usage`)

  // Each flag's value is checked by its spec's parser; Object.assign sets it under the spec's key.
  const options = defaultOptions(env, cwd)
  let outputGiven = false
  let minEventsGiven = false
  for (const [name, spec] of specs) {
    let raw: unknown = parsed[name]
    let source = `--${name}`
    if (raw === undefined && spec.kind === 'string') {
      // Flag > CALOPROD_<FLAG> > default: lets a Taskfile or a cron environment set what a flag would.
      const variable = envName(name)
      if (env[variable]) {
        raw = env[variable]
        source = variable
      }
    }
    if (raw === undefined) continue
    if (Array.isArray(raw) && spec.repeat) raw = raw.join(',')
    if (Array.isArray(raw)) throw new UsageError(`--${name} is given more than once`)
    if (spec.kind === 'boolean') {
      Object.assign(options, { [spec.key]: raw === true })
      continue
    }
    const text = String(raw)
    if (text === '' || raw === true) throw new UsageError(`--${name} needs a value (${spec.value ?? 'VALUE'})`)
    try {
      Object.assign(options, { [spec.key]: spec.parse ? spec.parse(text, cwd) : text })
    } catch (err) {
      throw new UsageError(`${source}: ${(err as Error).message}`)
    }
    if (name === 'output') outputGiven = true
    if (name === 'min-events') minEventsGiven = true
  }
  checkOtherVariables(env, cwd, accepted)
  if (!Object.hasOwn(options.rules.runTypes, options.runType)) {
    const source = parsed['run-type'] === undefined && env[envName('run-type')] ? envName('run-type') : '--run-type'
    const known = Object.keys(options.rules.runTypes).join(', ')
    throw new UsageError(`${source}: unknown run type "${options.runType}" in rule set ${options.rules.name}: expected one of ${known}`)
  }
  if (!minEventsGiven) options.minEvents = options.rules.minEvents
  if (!outputGiven) options.output = resolve(cwd, options.runType)
  return options
}

/**
 * Checks the CALOPROD_<FLAG> variables of flags this stage does not take: the Taskfile exports them for the whole
 * pipeline, so a bad one (MEMORY=lots) stops its first stage, before the query runs, not the stage that uses it.
 */
function checkOtherVariables(env: Env, cwd: string, accepted: readonly FlagName[]): void {
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const raw = env[envName(name)]
    if (accepted.includes(name) || !raw || !spec.parse) continue
    try {
      spec.parse(raw, cwd)
    } catch (err) {
      throw new UsageError(`${envName(name)}: ${(err as Error).message}`)
    }
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
  const fromEnv = example ? `\nA flag not given may come from the environment: --${example} from ${envName(example)}, and so on.\n` : ''
  return `Usage: ${command} [flags]\n\n${summary}\n\nFlags:\n${lines.join('\n')}\n${fromEnv}`
}

/** `--flag -5` as `--flag=-5`: a negative number after a flag is its (bad) value, not short flags for mri. */
/**
 * The flags' old names, still taken so a crontab written for them keeps working: they counted tries, not retries.
 */
const RENAMED: Record<string, string> = { '--db-retries': '--db-tries', '--cdb-retries': '--cdb-tries' }

/** `--db-retries N` or `--db-retries=N` under the flag's present name; any other argument as it is. */
function renamedFlag(arg: string): string {
  const [name, ...value] = arg.split('=')
  const renamed = RENAMED[name]
  return renamed ? [renamed, ...value].join('=') : arg
}

function joinNegativeValues(argv: readonly string[]): string[] {
  const takesValue = (arg: string) => arg.startsWith('--') && !arg.includes('=')
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (takesValue(argv[i]) && /^-\d/.test(argv[i + 1] ?? '')) {
      args.push(`${argv[i]}=${argv[i + 1]}`)
      i++
    } else {
      args.push(argv[i])
    }
  }
  return args
}
