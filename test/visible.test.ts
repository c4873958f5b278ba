// Text caloprod did not write, on a terminal: a hold reason from HTCondor, a tag of a hand-edited file, a line of a
// hand-edited record. Its control sequences (ESC, OSC 52 setting the clipboard, `\r` and backspace writing over the
// line, a bidi override reversing it) reach status, why, a stage's error line and the log as visible `\u001b`, never
// raw; one line stays one line; plain UTF-8 is left alone; --json still parses to the very text.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { someRuns, stagedOutput, TAG } from './helpers/condor-output.js'
import { fakeCondor } from './helpers/fake-condor.js'
import { runStageHere } from './helpers/run-script.js'
import { visible, visibleLine } from '../lib/visible.js'

/** Any character a terminal would obey rather than show (tab and line feed aside). */
const RAW = /[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** Erases the line, goes back to its start, writes another run's line, sets the clipboard, reverses the rest. */
const HOLD = 'Error from slot1@wn: \x1b[2K\r68002 new_newcdbtag_v008 done: fine\x1b]52;c;cm0gLXJmIH4=\x07 \u202e0.1 boj\b\b Détecteur à l’arrière'
const SHOWN = 'Error from slot1@wn: \\u001b[2K\\u000d68002 new_newcdbtag_v008 done: fine\\u001b]52;c;cm0gLXJmIH4=\\u0007 \\u202e0.1 boj' +
  '\\u0008\\u0008 Détecteur à l’arrière'

t.test('visible and visibleLine: controls and bidi as \\uXXXX, lines kept or joined, UTF-8 alone', async (t) => {
  t.equal(visible(HOLD), SHOWN)
  t.equal(visible('a\tb\nc\r\n'), 'a\tb\nc\\u000d\n')
  t.equal(visibleLine('a\tb\nc'), 'a\tb\\u000ac')
  t.equal(visible('\x7f\x9b\u2066\u2028'), '\\u007f\\u009b\\u2066\\u2028')
  t.equal(visible('Détecteur 日本 ✓ /lustre/a\\b'), 'Détecteur 日本 ✓ /lustre/a\\b', 'plain UTF-8 and backslashes as they are')
  t.same(JSON.parse(visible(JSON.stringify({ reason: HOLD }))), { reason: HOLD }, 'a JSON text stays JSON, of the same text')
})

t.test('status, why, an error line and the log show outside text, never obey it', async (t) => {
  const { output, queue: state, env, condor } = await stagedOutput(t, someRuns(2), { condor: true })
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await fakeCondor(state, 'set', '1.0', 'held', `reason=${HOLD}`)
  // A hand-edited record of the night: a failed stage whose line holds a line of its own.
  const record = join(output, 'log', 'last-night.json')
  const night = JSON.parse(readFileSync(record, 'utf8'))
  night.stages.upload = { at: '2099-12-01T00:00:00Z', code: 1, line: 'refused\n68002 new_newcdbtag_v008 current: all fine' }
  writeFileSync(record, JSON.stringify(night))

  const status = await runStageHere('status', ['--output', output], env)
  t.equal(status.code, 0, status.stderr)
  t.notMatch(status.stdout, RAW, 'status: no raw control')
  const lines = status.stdout.split('\n')
  t.ok(lines[0]!.startsWith('68001 new_newcdbtag_v008 held: job 1.0 since '), lines[0])
  t.ok(lines[0]!.endsWith(`: ${SHOWN}`), 'the hold reason, visible, on its run\'s line')
  t.equal(lines.filter((line) => line.startsWith('68002 ')).length, 1, 'one line for 68002, its own')
  t.match(lines.at(-2), /^status: upload failed at .*: refused\\u000a68002 new_newcdbtag_v008 current: all fine; /, 'the record\'s line one line')

  const json = await runStageHere('status', ['--output', output, '--json'], env)
  t.notMatch(json.stdout, RAW, 'status --json: no raw control')
  t.equal(JSON.parse(json.stdout)[0].hold_reason, HOLD, 'status --json: the very reason')

  const why = await runStageHere('why', ['--output', output, '--run', '68001'], env)
  t.equal(why.code, 0, why.stderr)
  t.notMatch(why.stdout, RAW, 'why: no raw control')
  t.ok(why.stdout.includes(SHOWN), 'why: the hold reason, visible')

  // A tag a person typed into the process list, quoted by the error: the line on stderr and in the log.
  writeFileSync(join(output, 'run3auau-process.csv'), `runnumber,tag\n68001,${TAG}\x1b]52;c;cm0gLXJmIH4=\x07\u202e\n`)
  const failed = await runStageHere('condor', condor, env)
  t.equal(failed.code, 1)
  t.notMatch(failed.stderr, RAW, 'the error line: no raw control')
  t.match(failed.stderr, /^caloprod condor: .*run3auau-process\.csv:2: .*\\u001b\]52;c;cm0gLXJmIH4=\\u0007\\u202e.*\n$/)
  const logs = readdirSync(join(output, 'log')).filter((name) => name.endsWith('.log'))
  const log = logs.map((name) => readFileSync(join(output, 'log', name), 'utf8')).join('')
  t.match(log, /condor\[\d+\] info: failed: .*\\u001b\]52;c;cm0gLXJmIH4=\\u0007\\u202e/, 'the log: the same line')
  t.notMatch(log, RAW, 'the log: no raw control')
})
