// lib/log.ts: what a stage says goes to the day's log file always, to stderr with --verbose or as a warning,
// and its summary line to stdout unless --quiet; a dry run (no file) writes nothing to disk.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CaloprodError } from '../lib/errors.js'
import { logFileFor, openLog, type LogOptions } from '../lib/log.js'

const NOW = new Date('2025-07-01T23:59:30.250Z')

/** A log whose stdout and stderr are collected; `file` and the flags as given. */
function collected(over: Partial<LogOptions>) {
  const out = { stdout: '', stderr: '' }
  const log = openLog({
    stage: 'check',
    file: undefined,
    verbose: false,
    quiet: false,
    stdout: (text) => (out.stdout += text),
    stderr: (text) => (out.stderr += text),
    now: () => NOW,
    ...over,
  })
  return { log, out }
}

t.test("the log file of the day is <output>/log/<UTC date>.log", async (t) => {
  t.equal(logFileFor('/data/out', NOW), '/data/out/log/2025-07-01.log')
  t.equal(logFileFor('/data/out', new Date('2025-07-02T00:00:00.000Z')), '/data/out/log/2025-07-02.log', 'a new file at UTC midnight')
})

t.test('by default: every line in the file, warnings on stderr, the summary on stdout', async (t) => {
  const file = join(t.testdir(), 'out', 'log', '2025-07-01.log')
  const { log, out } = collected({ file })
  t.ok(existsSync(join(file, '..')), 'opening the log creates its directory')
  log.info('120 runs in run3auau.csv')
  log.warn('global tag "x" has no payload')
  log.summary('check: 3 runs to process')
  const stamp = `${NOW.toISOString()} check[${process.pid}]`
  t.equal(readFileSync(file, 'utf8'), [
    `${stamp} info: 120 runs in run3auau.csv`,
    `${stamp} warn: global tag "x" has no payload`,
    `${stamp} done: check: 3 runs to process`,
    '',
  ].join('\n'))
  t.equal(out.stderr, 'check: warning: global tag "x" has no payload\n', 'no info line on stderr without --verbose')
  t.equal(out.stdout, 'check: 3 runs to process\n')
})

t.test('--verbose copies the info lines to stderr, prefixed with the stage', async (t) => {
  const file = join(t.testdir(), 'today.log')
  const { log, out } = collected({ file, verbose: true })
  log.info('asking the CDB')
  log.warn('slow')
  log.summary('done')
  t.equal(out.stderr, 'check: asking the CDB\ncheck: warning: slow\n')
  t.equal(out.stdout, 'done\n')
  t.equal(readFileSync(file, 'utf8').split('\n').length, 4, 'the file has all three lines either way')
})

t.test('--quiet drops only the summary from stdout: the file still has it, warnings still reach stderr', async (t) => {
  const file = join(t.testdir(), 'today.log')
  const { log, out } = collected({ file, quiet: true })
  log.warn('a run is held')
  log.summary('submit: 2 jobs')
  t.equal(out.stdout, '')
  t.equal(out.stderr, 'check: warning: a run is held\n')
  t.match(readFileSync(file, 'utf8'), / done: submit: 2 jobs\n$/)
})

t.test('without a file (a dry run) the terminal gets the same lines as with one', async (t) => {
  const { log, out } = collected({ file: undefined, verbose: true })
  log.info('plan')
  log.warn('careful')
  log.summary('would submit 2 jobs')
  t.equal(out.stderr, 'check: plan\ncheck: warning: careful\n')
  t.equal(out.stdout, 'would submit 2 jobs\n')
})

t.test('every invocation appends to the day\'s file: cron keeps the history', async (t) => {
  const file = join(t.testdir(), 'log', 'day.log')
  collected({ file, stage: 'query' }).log.summary('first night')
  collected({ file, stage: 'check' }).log.summary('second run')
  const lines = readFileSync(file, 'utf8').split('\n')
  t.match(lines[0], /^\S+ query\[\d+\] done: first night$/)
  t.match(lines[1], /^\S+ check\[\d+\] done: second run$/)
  t.equal(lines.length, 3)
})

t.test('a log file that cannot be written fails the call, before anything reaches the terminal', async (t) => {
  const dir = t.testdir()
  mkdirSync(join(dir, 'a-directory.log'))
  const { log, out } = collected({ file: join(dir, 'a-directory.log'), verbose: true })
  t.throws(() => log.info('lost'), {
    constructor: CaloprodError,
    message: `${join(dir, 'a-directory.log')}: is a directory where caloprod reads or writes a file (EISDIR on open); move that directory away and run again`,
  }, 'the file named, what is wrong, what to do')
  t.equal(out.stderr, '')
})

t.test('a full disk is named as such, with the file', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async (t) => {
  const { log, out } = collected({ file: '/dev/full' })
  t.throws(() => log.summary('done'), {
    constructor: CaloprodError,
    message: /^cannot write \/dev\/full: no space left on the device \(ENOSPC\)/,
  })
  t.equal(out.stdout, '', 'no summary printed for a line the log did not take')
})

t.test('a message of several lines carries the time and stage on each line, so grep finds every one', async (t) => {
  const file = join(t.testdir(), 'today.log')
  const { log } = collected({ file })
  log.summary('submit: 2 runs\n53879 ana464_nocdbtag_v001 submitted\n53880 ana464_nocdbtag_v001 submitted')
  const stamp = `${NOW.toISOString()} check[${process.pid}] done:`
  t.equal(readFileSync(file, 'utf8'), [
    `${stamp} submit: 2 runs`,
    `${stamp} 53879 ana464_nocdbtag_v001 submitted`,
    `${stamp} 53880 ana464_nocdbtag_v001 submitted`,
    '',
  ].join('\n'))
})

t.test("a warning is one line on stderr and in the file, whatever outside text it quotes; each shown, never obeyed", async (t) => {
  const file = join(t.testdir(), 'out', 'log', '2025-07-01.log')
  const { log, out } = collected({ file })
  log.warn('68001 new_tag CEMC_meanTime: answered 400: "duplicate key\n68002 new_tag uploaded: fine \x1b[1A\u202e"')
  const shown = '68001 new_tag CEMC_meanTime: answered 400: "duplicate key\\u000a68002 new_tag uploaded: fine \\u001b[1A\\u202e"'
  t.equal(out.stderr, `check: warning: ${shown}\n`)
  t.equal(readFileSync(file, 'utf8'), `${NOW.toISOString()} check[${process.pid}] warn: ${shown}\n`)
})
