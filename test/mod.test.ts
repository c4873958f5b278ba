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
