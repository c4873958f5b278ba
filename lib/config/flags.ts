// The flags of every stage, as data: each one's key in Options, its help line, how its value is checked and its
// default. Options is derived from this table, so a flag is written down once.
import { isAbsolute, resolve } from 'node:path'
import { GLOBAL_TAG } from '../rules/calibrations.js'
import { resolveRules } from '../rules/load.js'
import { SEED_RULES } from '../rules/seed.js'
import { RUN_TYPE_NAME } from '../rules/run-types.js'
import {
  parseCdbUrl, parseDbUrl, parseDuration, parseEventCount, parseGigabytes, parseJobs, parsePositiveInt, parseStatConcurrency,
  parseStatementTimeout, parseTimeout,
} from './parse-values.js'

/** The process environment, passed in so tests can give a fake one. */
export type Env = Record<string, string | undefined>

/** The two ways check can ask the CDB. */
const CDB_BACKENDS = ['filter-datasets', 'rest'] as const
export type CdbBackendName = (typeof CDB_BACKENDS)[number]

export interface FlagSpec {
  key: string
  kind: 'string' | 'boolean'
  alias?: string
  value?: string
  help: string
  parse?: (raw: string, cwd: string) => unknown
  /** May be given more than once: the values reach `parse` joined by commas. */
  repeat?: boolean
  /** The value when neither the flag nor its variable is given (a function reads `env`); none: false or undefined. */
  default?: unknown
}

const absolute = (raw: string, cwd: string) => (isAbsolute(raw) ? raw : resolve(cwd, raw))

/** All flags of all stages; each stage accepts the subset it names. Durations are seconds, sizes GB. */
export const FLAGS = {
  help: { key: 'help', kind: 'boolean', alias: 'h', help: 'print this help and exit' },
  'run-type': {
    key: 'runType', kind: 'string', alias: 'i', value: 'TYPE', default: 'run3auau',
    help: `run type: ${Object.keys(SEED_RULES.runTypes).join(', ')}, or one a rules file adds (default run3auau)`,
    // Which names exist depends on --rules: resolveOptions checks the name against the rule set.
    parse: (raw): string => {
      if (!RUN_TYPE_NAME.test(raw)) {
        throw new Error(`unknown run type "${raw}": expected one of ${Object.keys(SEED_RULES.runTypes).join(', ')}`)
      }
      return raw
    },
  },
  rules: {
    key: 'rules', kind: 'string', value: 'NAME|PATH', default: SEED_RULES,
    help: 'rule set: seed (the July 2025 script, default), current (since March 2026) or a YAML/JSON file',
    parse: resolveRules,
  },
  'min-events': {
    // A (run, tag) qualifies with more events than this; undefined: no threshold. The default is the rule set's.
    key: 'minEvents', kind: 'string', alias: 'n', value: 'N', default: SEED_RULES.minEvents,
    help: 'keep a run and tag with more than N events, e.g. 500000, 500k, 1.5M (default: the rule set\'s; seed 500k, current none)',
    parse: parseEventCount,
  },
  output: {
    key: 'output', kind: 'string', alias: 'o', value: 'DIR', default: (env: Env, cwd: string) => resolve(cwd, 'run3auau'),
    help: 'output directory (default: the run type, e.g. ./run3auau); query makes it, not its parents; the other stages need it', parse: absolute,
  },
  verbose: { key: 'verbose', kind: 'boolean', alias: 'v', help: 'also print the log to stderr' },
  quiet: { key: 'quiet', kind: 'boolean', alias: 'q', help: 'print nothing on stdout: no summary line, nor the lines of status, a plan or upload' },
  'db-url': {
    key: 'dbUrl', kind: 'string', value: 'URL',
    help: 'FileCatalog URL, postgres://user@host:port/FileCatalog (default: PGHOST, PGPORT, PGUSER, PGPASSWORD or ~/.pgpass, PGDATABASE, PGSSLMODE)',
    parse: parseDbUrl,
  },
  'statement-timeout': {
    key: 'statementTimeout', kind: 'string', value: 'DURATION', default: 600,
    help: 'longest a catalog query may run, 0.001s to 24d, e.g. 10m (default 10m)', parse: parseStatementTimeout,
  },
  'full-query': {
    key: 'fullQuery', kind: 'boolean',
    help: "ask for the whole selection even when the catalog's fingerprint is the last query's",
  },
  'db-tries': {
    key: 'dbTries', kind: 'string', value: 'N', default: 4,
    help: 'tries of a catalog query that fails for a passing reason, with growing pauses (default 4)', parse: parsePositiveInt,
  },
  jobs: {
    key: 'jobs', kind: 'string', alias: 'j', value: 'N',
    help: 'CDB lookups at once, 1 to 64: filter-datasets processes (default 4) and the requests of the check around them ' +
      '(default 16), or requests with --cdb rest (default 16)',
    parse: parseJobs,
  },
  'stat-concurrency': {
    key: 'statConcurrency', kind: 'string', value: 'N', default: 64,
    help: 'file-system stats in flight, 1 to 1024: the thread pool is sized to it (default 64)', parse: parseStatConcurrency,
  },
  recheck: { key: 'recheck', kind: 'boolean', help: 'ask the CDB about every run, ignoring the cache' },
  'recheck-after': {
    key: 'recheckAfter', kind: 'string', value: 'DURATION', default: 7 * 86400,
    help: 'ask again about runs settled longer ago than this, e.g. 7d, 12h (default 7d)', parse: parseDuration,
  },
  timeout: {
    key: 'timeout', kind: 'string', value: 'DURATION', default: 1800,
    help: 'longest one external call may take, 1s to 24h, e.g. 30m (default 30m)', parse: parseTimeout,
  },
  'cdb-tries': {
    key: 'cdbTries', kind: 'string', value: 'N', default: 3,
    help: 'tries of a filter-datasets shard or a CDB request that fails (crash, timeout, bad answer), with growing pauses (default 3)',
    parse: parsePositiveInt,
  },
  'bin-filter-datasets': {
    key: 'binFilterDatasets', kind: 'string', alias: 'f', value: 'PATH',
    default: (env: Env) => (env.OFFLINE_MAIN ? `${env.OFFLINE_MAIN}/bin/CaloCDB-FilterDatasets` : undefined),
    help: 'filter-datasets binary (default $OFFLINE_MAIN/bin/CaloCDB-FilterDatasets)', parse: absolute,
  },
  cdb: {
    key: 'cdb', kind: 'string', value: 'BACKEND', default: 'filter-datasets',
    help: 'how to ask the CDB: filter-datasets (the seed\'s program, default) or rest (nopayloaddb directly)',
    parse: (raw): CdbBackendName => {
      if (!(CDB_BACKENDS as readonly string[]).includes(raw)) {
        throw new Error(`unknown CDB backend "${raw}": expected ${CDB_BACKENDS.join(' or ')}`)
      }
      return raw as CdbBackendName
    },
  },
  'cdb-url': {
    key: 'cdbUrl', kind: 'string', value: 'URL',
    help: 'nopayloaddb API root (no user or password), e.g. http://host:8000/api/cdb_rest/: what check --cdb rest and why --live ' +
      'ask (default: base_url and api_res of $NOPAYLOADCLIENT_CONF), and check around filter-datasets without that variable',
    parse: parseCdbUrl,
  },
  'global-tag': {
    key: 'globalTag', kind: 'string', value: 'TAG', default: GLOBAL_TAG,
    help: 'CDB global tag of the maps (default newcdbtag; upload --do-cdb-upload needs it given)',
    parse: (raw) => {
      if (!/^[A-Za-z0-9_.+-]+$/.test(raw)) throw new Error(`"${raw}" is not a global tag name (letters, digits and _.+-)`)
      return raw
    },
  },
  'bin-genStatus': {
    key: 'binGenStatus', kind: 'string', value: 'PATH',
    default: (env: Env) => (env.OFFLINE_MAIN ? `${env.OFFLINE_MAIN}/bin/CaloCDB-GenStatus` : undefined),
    help: 'genStatus binary (default $OFFLINE_MAIN/bin/CaloCDB-GenStatus)', parse: absolute,
  },
  'condor-script': {
    key: 'condorScript', kind: 'string', alias: 'e', value: 'PATH',
    help: 'job wrapper script to use instead of the generated genStatus.sh', parse: absolute,
  },
  'condor-log-dir': {
    key: 'condorLogDir', kind: 'string', alias: 'l', value: 'DIR',
    default: (env: Env) => `/tmp/${env.USER || env.LOGNAME || 'caloprod'}/dump`,
    help: 'directory of the condor job logs (default /tmp/$USER/dump)', parse: absolute,
  },
  memory: {
    key: 'memory', kind: 'string', alias: 'm', value: 'GB', default: 0.5,
    help: 'memory to request per job in GB (default 0.5)', parse: parseGigabytes,
  },
  'do-condor-submit': {
    key: 'doCondorSubmit', kind: 'boolean', alias: 's', help: 'submit the jobs (without it: print the plan, change nothing)',
  },
  'max-jobs': {
    key: 'maxJobs', kind: 'string', value: 'N', default: 20000,
    help: 'submit at most N runs per invocation (default 20000)', parse: parsePositiveInt,
  },
  'max-attempts': {
    key: 'maxAttempts', kind: 'string', value: 'N', default: 3,
    help: 'try one run and tag at most N times: each submission and each release for memory is one (default 3)', parse: parsePositiveInt,
  },
  'do-cdb-upload': {
    key: 'doCdbUpload', kind: 'boolean', help: 'insert the payloads into the CDB (without it: print the plan, change nothing)',
  },
  since: {
    key: 'since', kind: 'string', value: 'DURATION',
    help: 'only the runs whose state changed in the last DURATION (e.g. 1d, 12h), as the nightly report recorded them',
    parse: parseDuration,
  },
  stdout: { key: 'stdout', kind: 'boolean', help: 'print the page on stdout; writes nothing in the output directory, not even the log' },
  'output-file': {
    key: 'outputFile', kind: 'string', value: 'PATH',
    help: 'write the page to PATH instead of <output>/report.html; writes nothing in the output directory, not even the log',
    parse: absolute,
  },
  'max-memory': {
    key: 'maxMemory', kind: 'string', value: 'GB', default: 4,
    help: 'most memory a job held for memory is given when released (default 4)', parse: parseGigabytes,
  },
  'memory-scale': {
    key: 'memoryScale', kind: 'string', value: 'FACTOR', default: 1.5,
    help: 'a job held for memory is released with its memory times this (default 1.5)',
    parse: (raw) => {
      const value = Number(raw)
      if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 1) || value > 16) throw new Error(`"${raw}" is not a factor above 1, such as 1.5`)
      return value
    },
  },
  run: {
    key: 'runs', kind: 'string', value: 'RUN', repeat: true,
    help: 'a run to tell the story of; may be given more than once, or as RUN,RUN',
    parse: (raw) =>
      raw.split(',').map((run) => {
        if (!/^[1-9]\d{0,9}$/.test(run.trim())) throw new Error(`"${run}" is not a run number`)
        return Number(run)
      }),
  },
  live: { key: 'live', kind: 'boolean', help: 'also ask the catalog and the CDB now (else: only what the stages wrote)' },
  json: { key: 'json', kind: 'boolean', help: 'print one JSON object per run, in a JSON array, instead of lines' },
} as const satisfies Record<string, FlagSpec>

export type FlagName = keyof typeof FLAGS

type Spec<N extends FlagName> = (typeof FLAGS)[N]
/** What a flag's parser returns: a boolean flag is a boolean, one without a parser its text. */
type Parsed<S> = S extends { parse: (...args: never[]) => infer T } ? T : S extends { kind: 'boolean' } ? boolean : string
type Default<S> = S extends { default: (...args: never[]) => infer D } ? D
  : S extends { default: infer D } ? D
  : S extends { kind: 'boolean' } ? never : undefined

/** Every setting of every stage, resolved: flag > CALOPROD_<FLAG> > default (`FLAGS`). */
export type Options = { -readonly [N in FlagName as Spec<N>['key']]: Parsed<Spec<N>> | Default<Spec<N>> }
