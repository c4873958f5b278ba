// lib/rules/load.ts and --rules: the two rule sets by name, a site's YAML or JSON file, and every way a file can
// be wrong (one line naming the file and key, exit 2, nothing written).
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { resolveOptions } from '../../lib/config/options.js'
import { CURRENT_RULES } from '../../lib/rules/current.js'
import { resolveRules, RulesError } from '../../lib/rules/load.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { runStageHere } from '../helpers/run-script.js'

t.test('seed and current by name; seed without the flag; CALOPROD_RULES stands in for it', async (t) => {
  t.equal(resolveRules('seed', '/'), SEED_RULES)
  t.equal(resolveRules('current', '/'), CURRENT_RULES)
  t.equal(resolveOptions([], {}, '/tmp', ['rules']).rules, SEED_RULES)
  t.equal(resolveOptions([], { CALOPROD_RULES: 'current' }, '/tmp', ['rules']).rules, CURRENT_RULES)
  t.equal(resolveOptions(['--rules', 'seed'], { CALOPROD_RULES: 'current' }, '/tmp', ['rules']).rules, SEED_RULES, 'the flag wins')
  const seed = resolveOptions([], {}, '/tmp', ['rules', 'min-events'])
  const current = resolveOptions(['--rules', 'current'], {}, '/tmp', ['rules', 'min-events'])
  t.same([seed.minEvents, current.minEvents], [500000, undefined], "each rule set's threshold by default")
  t.equal(resolveOptions(['--rules', 'current', '-n', '1M'], {}, '/tmp', ['rules', 'min-events']).minEvents, 1000000)
  t.same(current.rules.payloadTypes.length, 10)
  t.same(seed.rules.payloadTypes.length, 7)
})

t.test('a site file adds or overrides a run type and any key, starting from a rule set', async (t) => {
  const dir = t.testdir({
    'site.yaml': 'extends: current\nrunTypes:\n  run3auau: [66457, 78900]\n  run4pp: {first: 90000, last: 91000}\nminEvents: 1000\n',
    'site.json': JSON.stringify({ histogramTypes: ['HIST_CALOQA', 'HIST_CALOFITTINGQA'], payloadTypes: ['CEMC_meanTime'] }),
  })
  const yaml = resolveRules('site.yaml', dir)
  t.equal(yaml.name, join(dir, 'site.yaml'))
  t.same(yaml.runTypes.run3auau, { first: 66457, last: 78900 })
  t.same(yaml.runTypes.run4pp, { first: 90000, last: 91000 })
  t.same(yaml.runTypes.run3oo, CURRENT_RULES.runTypes.run3oo, 'the other run types stay')
  t.equal(yaml.tagRule, 'newest-qa-file')
  t.equal(yaml.minEvents, 1000)
  const json = resolveRules(join(dir, 'site.json'), '/')
  t.equal(json.tagRule, 'earliest-file', 'extends seed by default')
  t.same(json.payloadTypes, ['CEMC_meanTime'])
  const options = resolveOptions(['--rules', 'site.yaml', '--run-type', 'run4pp'], {}, dir, ['rules', 'run-type'])
  t.equal(options.runType, 'run4pp', 'a run type the file adds is a run type')
  t.throws(() => resolveOptions(['--run-type', 'run4pp'], {}, dir, ['rules', 'run-type']), /--run-type: unknown run type "run4pp" in rule set seed/)
})

t.test('bad rules: one line naming the file and the key', async (t) => {
  const dir = t.testdir({
    'syntax.yaml': 'runTypes: [1, 2\n',
    'syntax.json': '{"minEvents": 5,}',
    'unknown.yaml': 'minEvent: 5\n',
    'backwards.yaml': 'runTypes:\n  run3pp: [81668, 79146]\n',
    'overlap.yaml': 'runTypes:\n  run3x: [78000, 79200]\n',
    'payload.yaml': 'payloadTypes: [CEMC_meanTime, CEMC_nonsense]\n',
    'pattern.yaml': "histogramTypes: [\"HIST_CALOQA' or true --\"]\n",
    'extends.yaml': 'extends: newest\n',
    'list.yaml': '- a\n',
    'rules.txt': 'minEvents: 5\n',
  })
  const cases: [string, RegExp][] = [
    ['nonsense', /^nonsense: no such rule set: expected seed, current or the path of a \.yaml, \.yml or \.json file$/],
    ['missing.yaml', /missing\.yaml: cannot read it \(ENOENT\)$/],
    ['syntax.yaml', /syntax\.yaml: does not parse: /],
    ['syntax.json', /syntax\.json: does not parse: /],
    ['unknown.yaml', /unknown\.yaml: key minEvent: unknown key; expected extends, runTypes, description, /],
    ['backwards.yaml', /backwards\.yaml: key runTypes\.run3pp: the range starts at 81668, after its end 79146$/],
    ['overlap.yaml', /overlap\.yaml: key runTypes\.(run3x|run3pp): .* overlaps /],
    ['payload.yaml', /payload\.yaml: key payloadTypes\[1\]: unknown payload type "CEMC_nonsense"$/],
    ['pattern.yaml', /pattern\.yaml: key histogramTypes\[0\]: .* is not a dataset type/],
    ['extends.yaml', /extends\.yaml: key extends: expected one of seed, current$/],
    ['list.yaml', /list\.yaml: expected a mapping of keys/],
    ['rules.txt', /rules\.txt: does not parse: expected a \.yaml, \.yml or \.json file$/],
  ]
  for (const [spec, message] of cases) {
    t.throws(() => resolveRules(spec, dir), message, spec)
    t.throws(() => resolveRules(spec, dir), RulesError)
  }
  // Through a stage: exit 2, one line naming the flag, the file and the key; no output directory created.
  for (const [file, message] of [['unknown.yaml', /key minEvent: unknown key/], ['overlap.yaml', /overlaps/], ['nonsense', /no such rule set/]] as const) {
    const output = join(dir, `out-${file}`)
    const result = await runStageHere('reduce', ['--rules', join(dir, file).replace(/\/nonsense$/, '') === dir ? 'nonsense' : join(dir, file), '--output', output])
    t.equal(result.code, 2, `${file}: exit 2`)
    t.match(result.stderr, /^caloprod reduce: --rules: /)
    t.match(result.stderr, message)
    t.equal(result.stderr.trim().split('\n').length, 1, `${file}: one line`)
    t.notOk(existsSync(output), `${file}: nothing written`)
  }
  writeFileSync(join(dir, 'ok.yaml'), 'extends: seed\n')
  const env = await runStageHere('reduce', ['--output', join(dir, 'out-env')], { CALOPROD_RULES: join(dir, 'unknown.yaml') })
  t.equal(env.code, 2)
  t.match(env.stderr, /CALOPROD_RULES: .*unknown\.yaml: key minEvent: unknown key/)
})
