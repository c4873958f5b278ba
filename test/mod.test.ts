// lib/mod.ts, the surface a script imports as `caloprod` (package.json `exports`), and lib/caloprod.ts behind it:
// one call resolves the context as a stage does, the methods return data, the readers read the output directory.
import t from 'tap'
import { resolveOptions } from '../lib/config/options.js'
import { UsageError } from '../lib/errors.js'
import { prepareSubmit, someRuns, TAG } from './helpers/condor-output.js'

t.test('a script imports caloprod by its name: about 30 names, caloprod() first', async (t) => {
  const mod = (await import('caloprod')) as Record<string, unknown>
  t.same(Object.keys(mod).sort(), [
    'BUILTIN_RULES', 'CaloprodError', 'GLOBAL_TAG', 'InputError', 'LockedError', 'PAYLOAD_TYPES', 'RUN_TYPES', 'UsageError',
    'caloprod', 'layout', 'runRange', 'visible', 'visibleLine',
  ], 'the values; the rest are types')
  t.equal(mod.caloprod, (await import('../lib/mod.js')).caloprod, 'the package name resolves to lib/mod.ts')
})

t.test('caloprod() resolves the settings a stage would: the rule set\'s threshold and payload types, the output named for the run type', async (t) => {
  const { caloprod } = await import('caloprod')
  const stage = (argv: string[]) => resolveOptions(argv, {}, '/work', ['run-type', 'rules', 'output', 'min-events'])
  const seed = caloprod({ env: {}, cwd: '/work' }).options
  t.equal(seed.minEvents, stage([]).minEvents, 'the seed\'s 500000, as the stage selects (issue 21 §5)')
  t.equal(seed.minEvents, 500000)
  t.equal(seed.output, '/work/run3auau')
  const current = caloprod({ output: 'pp', runType: 'run3pp', rules: 'current', env: {}, cwd: '/work' }).options
  t.same([current.output, current.runType, current.minEvents], ['/work/pp', 'run3pp', stage(['--rules', 'current']).minEvents])
  t.equal(current.rules.payloadTypes.length, 10, 'the current rules\' ten payload types, never the seed\'s seven')
  t.equal(caloprod({ env: { CALOPROD_MAX_ATTEMPTS: '5' } }).options.maxAttempts, 5, 'CALOPROD_* variables as for a stage')
  t.throws(() => caloprod({ runType: 'run9xx', env: {} }), UsageError)
  t.throws(() => caloprod({ runType: 'run9xx', env: {} }), /--run-type: unknown run type "run9xx"/)
})

t.test('caloprod()\'s settings are checked as the flags they stand for, and an error names the setting', async (t) => {
  const { caloprod } = await import('caloprod')
  const settings = (settings: Record<string, unknown>) => caloprod({ env: {}, cwd: '/work', settings }).options
  const stage = resolveOptions(['--max-attempts', '5', '--recheck-after', '3d', '--memory', '2', '--cdb', 'rest', '--verbose'], {}, '/work',
    ['max-attempts', 'recheck-after', 'memory', 'cdb', 'verbose'])
  const script = settings({ maxAttempts: 5, recheckAfter: '3d', memory: 2, cdb: 'rest', verbose: true, timeout: undefined })
  for (const key of ['maxAttempts', 'recheckAfter', 'memory', 'cdb', 'verbose'] as const) t.equal(script[key], stage[key], key)
  t.equal(script.timeout, 1800, 'undefined: not given, the default')
  t.equal(settings({ recheckAfter: 60 }).recheckAfter, 60, 'a number where the flag takes one: seconds')
  t.same(settings({ runs: [68001, 68002] }).runs, resolveOptions(['--run', '68001', '--run', '68002'], {}, '/work', ['run']).runs, 'a list')
  // Each of these was taken as it came, and met a stage only when it was used (a global tag of any text went to the CDB).
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ maxAttempts: -1 }, /^settings\.maxAttempts: cannot parse "-1"/],
    [{ cdb: 'soap' }, /^settings\.cdb: /],
    [{ globalTag: 'new tag; drop' }, /^settings\.globalTag: "new tag; drop" is not a global tag name/],
    [{ memory: 0 }, /^settings\.memory: /],
    [{ verbose: 'yes' }, /^settings\.verbose: expected true or false$/],
    [{ timeout: { seconds: 5 } }, /^settings\.timeout: expected DURATION$/],
    [{ maxAtempts: 5 }, /^settings\.maxAtempts: not a setting; the settings are .*maxAttempts/],
    [{ output: '/elsewhere' }, /^settings\.output: give it as caloprod\(\{ output \}\), beside settings$/],
  ]
  for (const [given, message] of refused) {
    t.throws(() => settings(given), UsageError, JSON.stringify(given))
    t.throws(() => settings(given), message)
  }
})

t.test('status() is data, one object per run; the readers read the output directory', async (t) => {
  const { caloprod } = await import('caloprod')
  const s = await prepareSubmit(t, someRuns(2))
  const c = caloprod({ output: s.output, env: { ...process.env, ...s.env } })
  const runs = await c.status()
  t.same(runs.map((r) => [r.runnumber, r.tag, r.state, r.attempts, r.cluster]), [[68001, TAG, 'new', 0, null], [68002, TAG, 'new', 0, null]])
  t.same((await c.read.processList()).map((r) => r.runnumber), [68001, 68002])
  t.same((await c.read.jobs()).map((j) => j.runnumber), [68001, 68002])
  t.same(await c.read.ledger(), [], 'nothing submitted yet')
  const plan = await c.submit()
  t.match(plan.lines.at(-1), /^plan: would submit 2 runs/, 'submit without doCondorSubmit: the plan')
})
