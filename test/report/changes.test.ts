// What changed since the last good night: the page's list and `status --since`, from the states each report records.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { someRuns, stagedOutput } from '../helpers/condor-output.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(300_000)

t.test('the page and status --since list the runs whose state changed, with the state before and now', async (t) => {
  const { output, queue, env } = await stagedOutput(t, someRuns(3), { runList: true, condor: true })
  const night = async () => {
    t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
    const report = await runStageHere('report', ['--output', output], env)
    t.equal(report.code, 0, report.stderr)
    return readFileSync(join(output, 'report.html'), 'utf8')
  }
  const before = await runStageHere('status', ['--output', output, '--since', '1d'], env)
  t.equal(before.code, 1, 'no report yet')
  t.match(before.stderr, /^caloprod status: no record of the runs' states as old as \S+ \(each night's report records them; none yet\)\n$/)
  const first = await night()
  t.notMatch(first, /id="changes"/, 'the first night has nothing to compare with')
  const history = join(output, 'log', 'run-states.csv')
  t.match(readFileSync(history, 'utf8'), /^time,runnumber,tag,state\n.*,68001,new_newcdbtag_v008,queued\n/)

  // Two days pass; the scheduler holds one job and finishes another.
  const twoDaysAgo = new Date(Date.now() - 2 * 86400_000).toISOString()
  writeFileSync(history, readFileSync(history, 'utf8').replace(/^\d{4}-[^,]+,/gm, `${twoDaysAgo},`))
  await fakeCondor(queue, 'set', '1.1', 'held', 'reason=over memory')
  await fakeCondor(queue, 'set', '1.2', 'completed', 'exit=0')

  const second = await night()
  t.match(second, /<h2 id="changes">Changed since the last good night, [^(]+\(2\)<\/h2>/)
  t.match(second, /<tr><td>68002<\/td><td>new_newcdbtag_v008<\/td><td>queued<\/td><td class="state s-held">held<\/td><\/tr>/)
  t.match(second, /<tr><td>68003<\/td><td>new_newcdbtag_v008<\/td><td>queued<\/td><td class="state s-done">done, not yet in the CDB<\/td><\/tr>/)
  t.notMatch(second, /<tr><td>68001<\/td><td>new_newcdbtag_v008<\/td><td>queued/, 'a run still queued did not change')

  const since = await runStageHere('status', ['--output', output, '--since', '1d'], env)
  t.equal(since.code, 0, since.stderr)
  t.match(since.stdout, /^68002 new_newcdbtag_v008 queued -> held\n68003 new_newcdbtag_v008 queued -> done\nstatus: 2 runs changed state since \S+\n$/)
  // --json: the JSON array of the changes, one a line, no count line (it printed the text before).
  const json = await runStageHere('status', ['--output', output, '--since', '1d', '--json'], env)
  t.equal(json.code, 0, json.stderr)
  t.equal(json.stdout, [
    '[',
    '{"runnumber":68002,"tag":"new_newcdbtag_v008","before":"queued","state":"held"},',
    '{"runnumber":68003,"tag":"new_newcdbtag_v008","before":"queued","state":"done"}',
    ']',
    '',
  ].join('\n'))
  t.same(JSON.parse(json.stdout).length, 2)
  // A record not that old is no answer: every run would look new, and an empty --json array would say nothing
  // changed. One line on stderr naming the oldest record instead, nothing on stdout, exit 1, in both forms.
  const [oldest] = readFileSync(join(output, 'log', 'run-states.csv'), 'utf8').split('\n')[1]!.split(',')
  for (const json of [[], ['--json']]) {
    const tooFar = await runStageHere('status', ['--output', output, '--since', '3d', ...json], env)
    t.equal(tooFar.code, 1, `too far back ${json}`)
    t.equal(tooFar.stdout, '')
    t.equal(tooFar.stderr.replace(/as old as \S+/, 'as old as T'),
      `caloprod status: no record of the runs' states as old as T (each night's report records them; the oldest is from ${oldest})\n`)
  }
})
