// Bad input for the stages the stage tests do not cover: a process list and a ledger a person edited while
// debugging (condor, submit, status), odd things in datasets/, and flags every stage must refuse. Each is one
// line naming the file and line (or the flag), a non-zero exit, and nothing written.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fingerprint, prepareSubmit, someRuns, TAG, writeStageInputs } from '../helpers/condor-output.js'
import { FAKE_GENSTATUS, readFakeState } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

const HEADER = 'time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n'
const ROW = `2025-01-01T02:00:00Z,68001,${TAG},1,submitted,7,0,20250101T020000Z-1,ok\n`

/** Everything under `dir` but the log, which records the failure: equal before and after means nothing written. */
const written = (dir: string) => Object.fromEntries(Object.entries(fingerprint(dir)).filter(([path]) => !path.startsWith('log') && path !== './'))

/** One line on stderr, from the stage, naming `where`. */
const oneLine = (stderr: string) => stderr.split('\n').filter(Boolean)

/** A ledger edited by hand: [what, text, line named, message]. */
const BAD_LEDGERS: [string, string, number, RegExp][] = [
  ['a line cut short in the middle', `${HEADER}2025-01-01T02:00:00Z,68001,${TAG},1,subm\n${ROW}`, 2, /has 5 fields, expected 9/],
  ['an extra column', `${HEADER}${ROW.trimEnd()},extra\n`, 2, /has 10 fields, expected 9/],
  ['a byte-order mark', `\uFEFF${HEADER}${ROW}`, 1, /byte-order mark/],
  ['CRLF line ends', `${HEADER}${ROW}`.replace(/\n/g, '\r\n'), 1, /CRLF/],
  ['no header', ROW, 1, /header is "2025-01-01T02:00:00Z,68001,/],
  ['a non-numeric run', `${HEADER}${ROW.replace('68001', '68OO1')}`, 2, /runnumber/],
]

for (const stage of ['submit', 'status'] as const) {
  t.test(`${stage}: a ledger a person edited stops the stage, naming file and line, and nothing is written`, async (t) => {
    for (const [what, text, line, message] of BAD_LEDGERS) {
      const s = await prepareSubmit(t, someRuns(2), `out-${stage}-${BAD_LEDGERS.findIndex(([w]) => w === what)}`)
      const ledger = join(s.output, 'submissions.csv')
      writeFileSync(ledger, text)
      const before = written(s.output)
      const args = stage === 'submit' ? ['--output', s.output, '--do-condor-submit'] : ['--output', s.output]
      const result = await runStageHere(stage, args, s.env)
      t.equal(result.code, 1, `${what}: exit 1`)
      t.equal(result.stdout, '', `${what}: nothing on stdout`)
      t.same(oneLine(result.stderr), [oneLine(result.stderr)[0]], `${what}: one line: ${JSON.stringify(result.stderr)}`)
      t.match(result.stderr, new RegExp(`^caloprod ${stage}: ${ledger.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: `), `${what}: file and line named`)
      t.match(result.stderr, message, what)
      t.notMatch(result.stderr, /\r/, `${what}: no carriage return garbles the line`)
      t.same(written(s.output), before, `${what}: nothing written`)
      t.equal(readFakeState(s.state).calls.filter((c) => c.program === 'condor_submit').length, 0, `${what}: nothing submitted`)
    }
  })
}

t.test('an empty ledger (a crash just after creating it) is no submissions yet, not an error', async (t) => {
  const s = await prepareSubmit(t, someRuns(2))
  writeFileSync(join(s.output, 'submissions.csv'), '')
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /status: 2 runs: 2 new/)
  const submit = await runStageHere('submit', ['--output', s.output, '--do-condor-submit'], s.env)
  t.equal(submit.code, 0, submit.stderr)
  t.match(submit.stdout, /^submit: 2 runs submitted to cluster 1 /)
})

/** A process list edited by hand: [what, text, line named, message]. */
const BAD_PROCESS_LISTS: [string, string, number, RegExp][] = [
  ['a truncated last line', `runnumber,tag\n68001,${TAG}\n68002,new_newcd`, 3, /truncated/],
  ['an extra column', `runnumber,tag\n68001,${TAG},x\n`, 2, /has 3 fields, expected 2/],
  ['a missing column', 'runnumber,tag\n68001\n', 2, /has 1 fields, expected 2/],
  ['a non-numeric run', `runnumber,tag\nsixty,${TAG}\n`, 2, /runnumber/],
  ['a duplicate run', `runnumber,tag\n68001,${TAG}\n68001,${TAG}\n`, 3, /appears twice/],
  ['a byte-order mark', `\uFEFFrunnumber,tag\n68001,${TAG}\n`, 1, /byte-order mark/],
  ['CRLF line ends', `runnumber,tag\r\n68001,${TAG}\r\n`, 1, /CRLF/],
  ['an empty file', '', 1, /empty/],
  ['no header', `68001,${TAG}\n`, 1, /header is "68001,/],
]

for (const stage of ['condor', 'submit', 'status'] as const) {
  t.test(`${stage}: a process list a person edited stops the stage, naming file and line, and nothing is written`, async (t) => {
    for (const [i, [what, text, line, message]] of BAD_PROCESS_LISTS.entries()) {
      const s = await prepareSubmit(t, someRuns(2), `out-${stage}-${i}`)
      const path = join(s.output, 'run3auau-process.csv')
      writeFileSync(path, text)
      const before = written(s.output)
      const args = {
        condor: ['--output', s.output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', s.logs],
        submit: ['--output', s.output, '--do-condor-submit'],
        status: ['--output', s.output],
      }[stage]
      const result = await runStageHere(stage, args, s.env)
      t.equal(result.code, 1, `${what}: exit 1 ${result.stderr}`)
      t.equal(oneLine(result.stderr).length, 1, `${what}: one line: ${JSON.stringify(result.stderr)}`)
      t.match(result.stderr, new RegExp(`^caloprod ${stage}: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: `), `${what}: file and line named`)
      t.match(result.stderr, message, what)
      t.notMatch(result.stderr, /\r/, `${what}: no carriage return garbles the line`)
      t.same(written(s.output), before, `${what}: nothing written`)
      t.equal(readFakeState(s.state).calls.filter((c) => c.program === 'condor_submit').length, 0, `${what}: nothing submitted`)
    }
  })
}

t.test('condor: odd things in datasets/ are never taken for a run\'s list', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }, { run: 68002, tag: TAG }, { run: 68003, tag: TAG }])
  const datasets = join(output, 'datasets')
  // A folder under a list's name, an empty list, a half-written list of a killed run, a note, a stray list name.
  mkdirSync(join(datasets, `68002_${TAG}.list`))
  writeFileSync(join(datasets, `68003_${TAG}.list`), '')
  writeFileSync(join(datasets, `.68001_${TAG}.list.999999.deadbeef.tmp`), '/d/half')
  writeFileSync(join(datasets, 'README'), 'notes\n')
  writeFileSync(join(datasets, 'not-a-run_x.list'), '/d/x\n')
  const args = ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs')]
  const result = await runStageHere('condor', args)
  t.equal(result.code, 1, `a folder or an empty file under a list's name stops the stage: ${result.stderr}`)
  t.match(result.stderr, new RegExp(`^caloprod condor: .*datasets/68002_${TAG}\\.list: is not a regular file`))
  t.equal(oneLine(result.stderr).length, 1)
  t.notOk(readdirSync(output).includes('condor'), 'nothing written')

  rmSync(join(datasets, `68002_${TAG}.list`), { recursive: true })
  const empty = await runStageHere('condor', args)
  t.equal(empty.code, 1)
  t.match(empty.stderr, new RegExp(`datasets/68003_${TAG}\\.list: is empty`))
  t.notOk(readdirSync(output).includes('condor'), 'nothing written')

  rmSync(join(datasets, `68003_${TAG}.list`))
  const fine = await runStageHere('condor', args)
  t.equal(fine.code, 0, fine.stderr)
  t.match(fine.stdout, /condor: 1 job \(2 runs without a list\)/)
})

/** Flags every stage must refuse with exit 2 and one line naming the flag: [stage, args, message]. */
const STAGES = ['query', 'reduce', 'check', 'lists', 'condor', 'submit', 'status'] as const
const BAD_FLAGS: [readonly string[], string[], RegExp][] = [
  [STAGES, ['--run-type', '../x'], /--run-type: unknown run type "\.\.\/x"/],
  [['query', 'lists'], ['--min-events', '-1'], /--min-events: cannot parse "-1"/],
  [['query', 'lists'], ['--min-events', '1e99'], /--min-events: cannot parse "1e99"/],
  [['query', 'lists'], ['--min-events', '5000000000000'], /--min-events: "5000000000000" is more events than any run has/],
  [['condor'], ['--memory', '0'], /--memory: cannot parse "0": expected a size in GB greater than 0/],
  [['condor'], ['--memory', '-1'], /--memory: cannot parse "-1"/],
  [['condor'], ['--memory', '100000'], /--memory: cannot parse "100000"/],
  [['check'], ['--jobs', '0'], /--jobs: cannot parse "0"/],
  [['check'], ['--jobs', '1000000'], /--jobs: "1000000" is more than 64 filter-datasets processes at once/],
  [['check', 'submit', 'status'], ['--timeout', '0'], /--timeout: "0" is no time to run anything/],
  [['submit'], ['--max-jobs', '-5'], /--max-jobs: cannot parse "-5"/],
  [['submit', 'status'], ['--max-attempts', '0'], /--max-attempts: cannot parse "0"/],
]

t.test('bad flags: exit 2, one line naming the flag, nothing written, for every stage that takes them', async (t) => {
  const root = t.testdir()
  for (const [stages, args, message] of BAD_FLAGS) {
    for (const stage of stages) {
      const output = join(root, `${stage}-${args.join('').replace(/\W/g, '_')}`)
      const result = await runStageHere(stage, ['--output', output, ...args])
      t.equal(result.code, 2, `${stage} ${args.join(' ')}: exit 2 ${result.stderr}`)
      t.equal(oneLine(result.stderr).length, 1, `${stage} ${args.join(' ')}: one line`)
      t.match(result.stderr, message, `${stage} ${args.join(' ')}`)
      t.notOk(readdirSync(root).includes(output.slice(root.length + 1)), `${stage} ${args.join(' ')}: no output directory created`)
    }
  }
  // --output naming a regular file.
  const file = join(root, 'a-file')
  writeFileSync(file, 'not a directory\n')
  for (const stage of STAGES) {
    const extra = stage === 'submit' ? ['--do-condor-submit'] : []
    const result = await runStageHere(stage, ['--output', file, ...extra])
    t.equal(result.code, 2, `${stage} --output FILE: exit 2 ${result.stderr}`)
    t.equal(oneLine(result.stderr).length, 1)
    t.match(result.stderr, new RegExp(`^caloprod ${stage}: --output ${file} is a file, not a directory`))
  }
})

t.test('an --output that does not exist (a typo): every stage but query refuses it; query one whose parent does not exist', async (t) => {
  const root = t.testdir()
  const typo = join(root, 'run3auua')
  for (const [stage, extra] of [
    ['reduce', []], ['check', []], ['lists', []], ['condor', []], ['submit', []], ['submit', ['--do-condor-submit']],
    ['status', []], ['report', []], ['report', ['--stdout']], ['upload', []], ['why', ['--run', '70000']],
  ] as const) {
    const result = await runStageHere(stage, ['--output', typo, ...extra])
    const what = `${stage} ${extra.join(' ')}`
    t.equal(result.code, 2, `${what}: exit 2 ${result.stderr}`)
    t.equal(result.stderr, `caloprod ${stage}: --output ${typo}: no such directory (only the query stage, a night's first, creates it)\n`, what)
    t.equal(result.stdout, '', what)
    t.notOk(existsSync(typo), `${what}: nothing created`)
  }
  // query makes the directory, not its parents: /sphenix/u/calo missing is a file system not mounted, more often than
  // not, and a fresh output directory there would be a night with no ledger.
  const unmounted = join(root, 'sphenix', 'u', 'calo', 'run3auau')
  const query = await runStageHere('query', ['--output', unmounted])
  t.equal(query.code, 2, query.stderr)
  t.match(query.stderr, /^caloprod query: --output \S+\/run3auau: \S+\/sphenix\/u\/calo does not exist \(a file system not mounted\?\); .* mkdir -p \S+\/calo\n$/)
  t.notOk(existsSync(join(root, 'sphenix')), 'query: nothing created')
})
