import t from 'tap'
import { defaultOptions, resolveOptions, usage, type FlagName } from '../../lib/config/options.js'
import { parseDuration, parseEventCount, parseGigabytes } from '../../lib/config/parse-values.js'
import { UsageError } from '../../lib/errors.js'

const FLAGS: FlagName[] = ['run-type', 'min-events', 'output', 'db-url', 'verbose', 'help', 'bin-filter-datasets', 'condor-log-dir', 'memory']
const resolve = (argv: string[], env: Record<string, string> = {}) => resolveOptions(argv, env, '/work', FLAGS)

t.test('event counts accept plain numbers and k/M suffixes', async (t) => {
  t.equal(parseEventCount('500000'), 500000)
  t.equal(parseEventCount('500k'), 500000)
  t.equal(parseEventCount('1.5M'), 1500000)
  t.equal(parseEventCount('0'), 0)
  t.throws(() => parseEventCount('500x'), /cannot parse "500x": expected a number such as 500000, 500k or 1.5M/)
  t.throws(() => parseEventCount('-5'), /cannot parse/)
  t.throws(() => parseEventCount('1.5'), /not a whole number/)
  t.throws(() => parseEventCount('5000000M'), /more events than any run has/)
})

t.test('durations and memory sizes', async (t) => {
  t.equal(parseDuration('7d'), 604800)
  t.equal(parseDuration('90'), 90)
  t.equal(parseDuration('0.5s'), 0.5)
  t.throws(() => parseDuration('soon'), /expected a duration/)
  t.equal(parseGigabytes('0.5'), 0.5)
  t.throws(() => parseGigabytes('0'), /greater than 0/)
})

t.test('defaults: the seed\'s run type and threshold; output named after the run type', async (t) => {
  const o = resolve([])
  t.equal(o.runType, 'run3auau')
  t.equal(o.minEvents, 500000)
  t.equal(o.output, '/work/run3auau')
  t.equal(resolve(['-i', 'run2pp']).output, '/work/run2pp')
  t.equal(resolve(['--output', 'x']).output, '/work/x')
})

t.test('a script\'s defaults are the stage\'s: defaultOptions() applies the rule set\'s threshold (issue 21 §5)', async (t) => {
  const script = defaultOptions({}, '/work')
  const stage = resolve([])
  t.equal(script.minEvents, stage.minEvents)
  t.equal(script.minEvents, script.rules.minEvents)
  t.same(script.rules.payloadTypes, stage.rules.payloadTypes)
})

t.test('the environment gives defaults that flags override', async (t) => {
  const env = { OFFLINE_MAIN: '/opt/sphenix/core', USER: 'phnxreco' }
  t.equal(resolve([], env).binFilterDatasets, '/opt/sphenix/core/bin/CaloCDB-FilterDatasets')
  t.equal(resolve(['--bin-filter-datasets', '/x/fd'], env).binFilterDatasets, '/x/fd')
  t.equal(resolve([], env).condorLogDir, '/tmp/phnxreco/dump')
  t.equal(resolve([], {}).binFilterDatasets, undefined)
})

t.test('usage errors name the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--run-type', 'run4'], /--run-type: unknown run type "run4" in rule set seed: expected one of run2pp, run2auau, run3auau, run3pp, run3oo/],
    [['--run-type', '../x'], /--run-type: unknown run type "..\/x": expected one of run2pp/],
    [['--min-events', '-1'], /--min-events: cannot parse "-1"/],
    [['--nope'], /unknown flag --nope/],
    [['--output'], /--output needs a value/],
    [['--output', 'a', '--output', 'b'], /--output is given more than once/],
    [['--memory', '1', '--memory', '1'], /--memory is given more than once/],
    [['stray'], /unexpected argument "stray"/],
    [['--memory', '0'], /--memory: cannot parse "0"/],
  ]
  for (const [argv, pattern] of cases) t.throws(() => resolve(argv), pattern, argv.join(' '))
  t.throws(() => resolve(['--nope']), UsageError)
})

t.test('a switch given twice is given once (the Taskfile\'s --quiet and the one after --)', async (t) => {
  const switches = (argv: string[]) => resolveOptions(argv, {}, '/work', ['output', 'quiet', 'verbose'])
  t.equal(switches(['--quiet', '--quiet']).quiet, true)
  t.match(switches(['-q', '--quiet', '--verbose', '-v']), { quiet: true, verbose: true })
})

t.test('a stage rejects flags it does not take', async (t) => {
  t.throws(() => resolveOptions(['--memory', '1'], {}, '/w', ['output']), /unknown flag --memory/)
})

t.test('resolving twice gives the same result (mri does not keep state)', async (t) => {
  t.same(resolve(['-n', '1M']), resolve(['-n', '1M']))
})

t.test('usage lists every flag of the stage', async (t) => {
  const text = usage('npx tsx tasks/x.ts', 'Does x.', ['run-type', 'help'])
  t.match(text, /-i, --run-type TYPE/)
  t.match(text, /-h, --help/)
  t.notMatch(text, /--memory/)
  t.match(text, /--run-type from CALOPROD_RUN_TYPE, and so on/, 'the environment example is a flag the stage takes')
  t.notMatch(text, /min-events/)
  t.match(usage('x', 'X.', ['min-events', 'output']), /--min-events from CALOPROD_MIN_EVENTS/)
  t.notMatch(usage('x', 'X.', ['help', 'verbose']), /environment/, 'no example where no flag takes a value')
  // CALOPROD_RECHECK=1 is not read (a switch is a flag only): the help says so, and names a switch the stage takes.
  t.match(usage('x', 'X.', ['output', 'recheck', 'verbose']), /and so on; a switch, such as --recheck, only on the command line\.\n$/)
  t.match(usage('x', 'X.', ['output']), /from CALOPROD_OUTPUT, and so on\.\n$/, 'no switch: none named')
})

t.test('CALOPROD_<FLAG> variables stand in for flags not given; flags win; empty means unset', async (t) => {
  const env = { CALOPROD_MIN_EVENTS: '1M', CALOPROD_CONDOR_LOG_DIR: '/logs', CALOPROD_RUN_TYPE: '' }
  const o = resolve([], env)
  t.equal(o.minEvents, 1000000)
  t.equal(o.condorLogDir, '/logs')
  t.equal(o.runType, 'run3auau')
  t.equal(resolve(['-n', '2M'], env).minEvents, 2000000)
  t.throws(() => resolve([], { CALOPROD_MIN_EVENTS: 'many' }), /^CALOPROD_MIN_EVENTS: cannot parse "many"/)
})

t.test('--timeout must be a real time limit and --jobs a number of processes this host can run', async (t) => {
  const check = (argv: string[]) => resolveOptions(argv, {}, '/work', ['timeout', 'jobs'])
  t.equal(check(['--timeout', '90s']).timeout, 90)
  t.equal(check(['--timeout', '24h']).timeout, 86400)
  t.equal(check(['--jobs', '64']).jobs, 64)
  t.throws(() => check(['--timeout', '0']), { constructor: UsageError, message: /^--timeout: "0" is no time to run anything: expected from 1s to 24h, such as 30m$/ })
  t.throws(() => check(['--timeout', '0.5']), { message: /^--timeout: "0.5" is no time to run anything/ })
  // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires at once, as if every call had hung.
  t.throws(() => check(['--timeout', '30d']), { message: /^--timeout: "30d" is longer than 24h/ })
  t.throws(() => check(['--jobs', '1000000']), { constructor: UsageError, message: /^--jobs: "1000000" is more than 64 filter-datasets processes at once/ })
  t.throws(() => check(['--jobs', '0']), { message: /^--jobs: cannot parse "0"/ })
})

t.test('--statement-timeout is a timeout PostgreSQL takes, never one that turns it off; durations are bounded', async (t) => {
  const check = (argv: string[], env = {}) => resolveOptions(argv, env, '/work', ['statement-timeout', 'since', 'recheck-after'])
  t.equal(check(['--statement-timeout', '0.2s']).statementTimeout, 0.2)
  t.equal(check(['--statement-timeout', '0.001']).statementTimeout, 0.001)
  t.equal(check(['--statement-timeout', '24d']).statementTimeout, 24 * 86400)
  t.equal(check(['--statement-timeout', '2147483s']).statementTimeout, 2147483)
  // PostgreSQL's statement_timeout is an int of ms: above 2147483647 every night failed in the catalog, naming no flag.
  t.throws(() => check(['--statement-timeout', '25d']), { constructor: UsageError, message: /^--statement-timeout: "25d" is longer than PostgreSQL's statement_timeout allows \(2147483647 ms, about 24\.8 days\): expected from 0.001s to 24d, such as 10m$/ })
  t.throws(() => check([], { CALOPROD_STATEMENT_TIMEOUT: '2147484s' }), { constructor: UsageError, message: /^CALOPROD_STATEMENT_TIMEOUT: "2147484s" is longer than PostgreSQL's/ })
  // 0 (or under 1 ms, sent rounded to 0) is PostgreSQL's "no timeout".
  t.throws(() => check(['--statement-timeout', '0']), { constructor: UsageError, message: /^--statement-timeout: "0" is 0 ms, which turns the timeout off: expected from 0\.001s to 24d, such as 10m$/ })
  t.throws(() => check(['--statement-timeout', '0.0001']), { message: /^--statement-timeout: "0.0001" is 0 ms, which turns the timeout off/ })
  // Past ten years a duration is a typo, and far past it `now - since` is no date at all (RangeError: Invalid time value).
  t.equal(check(['--since', '3650d']).since, 3650 * 86400)
  t.throws(() => check(['--since', '99999999999999999999d']), { constructor: UsageError, message: /^--since: "99999999999999999999d" is longer than 3650d \(ten years\): expected a duration such as 7d/ })
  t.throws(() => check(['--recheck-after', '3651d']), { constructor: UsageError, message: /^--recheck-after: "3651d" is longer than 3650d/ })
})

t.test('--db-tries and --cdb-tries count tries; their old names (--db-retries, --cdb-retries) are still taken', async (t) => {
  const flags: FlagName[] = ['db-tries', 'cdb-tries', 'help']
  const tries = (argv: string[]) => {
    const o = resolveOptions(argv, {}, '/work', flags)
    return [o.dbTries, o.cdbTries]
  }
  t.same(tries([]), [4, 3], 'the defaults')
  t.same(tries(['--db-tries', '2', '--cdb-tries=5']), [2, 5])
  t.same(tries(['--db-retries', '2', '--cdb-retries=5']), [2, 5], 'the old names, as a crontab may still give them')
  t.throws(() => tries(['--db-retries', '0']), /--db-tries: /, 'an error names the flag by its present name')
  t.throws(() => tries(['--db-retries', '1', '--db-tries', '2']), /--db-tries is given more than once/)
  const text = usage('x', 'X.', flags)
  t.match(text, /--db-tries N/)
  t.notMatch(text, /retries N/, 'help shows only the present names')
})

t.test("a bad CALOPROD_<FLAG> of a flag the stage does not take is refused too, naming the variable", async (t) => {
  t.throws(() => resolveOptions([], { CALOPROD_MEMORY: 'lots' }, '/w', ['output']), { constructor: UsageError, message: /^CALOPROD_MEMORY: / })
  t.doesNotThrow(() => resolveOptions([], { CALOPROD_MEMORY: '2' }, '/w', ['output']))
  t.doesNotThrow(() => resolveOptions([], { CALOPROD_MEMORY: '' }, '/w', ['output']), 'empty means unset')
  t.doesNotThrow(() => resolveOptions([], { CALOPROD_MEMORY: 'lots' }, '/w', ['output'], { othersVars: false }), 'a stage that takes no lock')
  t.throws(() => resolveOptions([], { CALOPROD_TIMEOUT: 'lots' }, '/w', ['timeout'], { othersVars: false }), { message: /^CALOPROD_TIMEOUT: / },
    'its own flags still')
})
