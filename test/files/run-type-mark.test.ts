// An output directory is one run type's (lib/files/run-type-mark.ts): the first stage that writes there marks it, and
// a stage of another run type is refused before it writes or records anything there.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { caloprod } from '../../lib/caloprod.js'
import { UsageError } from '../../lib/errors.js'
import { layout } from '../../lib/files/layout.js'
import { checkRunTypeMark } from '../../lib/files/run-type-mark.js'
import { runStageHere } from '../helpers/run-script.js'

t.test('a writer marks a new directory; another run type is refused naming the mark; a reader marks nothing', async (t) => {
  const output = t.testdir()
  await checkRunTypeMark(output, 'run3pp', { claim: false })
  t.notOk(existsSync(layout.runTypeMark(output)), 'a reader leaves an unmarked directory unmarked')
  await checkRunTypeMark(output, 'run3auau', { claim: true })
  t.equal(readFileSync(layout.runTypeMark(output), 'utf8'), 'run3auau\n')
  await checkRunTypeMark(output, 'run3auau', { claim: true })
  for (const claim of [true, false]) {
    await t.rejects(checkRunTypeMark(output, 'run3pp', { claim }), new UsageError(
      `--output ${output} is run type run3auau's (${layout.runTypeMark(output)}), not run3pp's: give each run type its own ` +
        "output directory (OUTPUT defaults to the run type's name); if it is to be run3pp's from now on, remove that file",
    ))
  }
  t.equal(readFileSync(layout.runTypeMark(output), 'utf8'), 'run3auau\n', 'the mark stays')
  writeFileSync(layout.runTypeMark(output), '\n')
  await t.rejects(checkRunTypeMark(output, 'run3auau', { claim: true }), { message: /names no run type; remove it/ })
})

t.test('two run types marking one new directory at once: one marks it, the other is refused', async (t) => {
  for (let round = 0; round < 20; round++) {
    const output = join(t.testdir(), String(round))
    mkdirSync(output, { recursive: true })
    const ends = await Promise.allSettled(['run3auau', 'run3pp'].map((runType) => checkRunTypeMark(output, runType, { claim: true })))
    const marked = readFileSync(layout.runTypeMark(output), 'utf8').trim()
    t.same(ends.map((end) => end.status), ['run3auau', 'run3pp'].map((runType) => (runType === marked ? 'fulfilled' : 'rejected')), `round ${round}`)
  }
})

t.test('a stage of another run type writes and records nothing there, even one whose variables do not parse', async (t) => {
  const output = t.testdir({ 'log': { 'last-night.json': '{"stages":{},"lastGood":null,"badSince":null}\n' } })
  writeFileSync(layout.runTypeMark(output), 'run3auau\n')
  const record = () => readFileSync(join(output, 'log', 'last-night.json'), 'utf8')
  const before = record()
  const status = await runStageHere('status', ['--run-type', 'run3pp', '--output', output])
  t.equal(status.code, 2)
  t.match(status.stderr, /^caloprod status: --output \S+ is run type run3auau's \(\S+\.caloprod\.run-type\), not run3pp's: /)
  // MEMORY=lots: the options do not resolve, and a failed stage records its end in the directory it names (the
  // report's banner); run3auau's page must not show run3pp's failed night.
  const query = await runStageHere('query', ['--run-type', 'run3pp', '--output', output], { CALOPROD_MEMORY: 'lots' })
  t.equal(query.code, 2)
  t.match(query.stderr, /^caloprod query: CALOPROD_MEMORY: /)
  t.equal(record(), before, 'run3auau\'s record of its nights is untouched (it recorded the query as failed)')
  const own = await runStageHere('query', ['--run-type', 'run3auau', '--output', output], { CALOPROD_MEMORY: 'lots' })
  t.equal(own.code, 2)
  t.match(JSON.parse(record()).stages.query, { code: 2 }, 'its own run type\'s failure is recorded as before')
})

t.test('the scripting API: a method that writes, and status, are refused on another run type\'s directory', async (t) => {
  const output = t.testdir()
  writeFileSync(layout.runTypeMark(output), 'run3auau\n')
  const c = caloprod({ output, runType: 'run3pp', env: {} })
  await t.rejects(c.report(), { message: /is run type run3auau's/ })
  await t.rejects(c.status(), { message: /is run type run3auau's/ })
  t.notOk(existsSync(join(output, 'report.html')))
})
