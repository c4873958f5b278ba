import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { InputError } from '../../lib/errors.js'
import { appendLedger, readLedger, type LedgerRow } from '../../lib/files/ledger.js'

const row = (over: Partial<LedgerRow> = {}): LedgerRow => ({
  time: '2025-01-01T02:00:00Z', runnumber: 68006, tag: 'new_newcdbtag_v008', attempt: 1, state: 'submitting',
  cluster: undefined, proc: undefined, submission: '20250101T020000Z-1', detail: 'condor_submit in submissions/20250101T020000Z-1', ...over,
})

const HEADER = 'time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n'

t.test('rows are appended after a header and read back as written', async (t) => {
  const path = join(t.testdir(), 'submissions.csv')
  t.same(await readLedger(path), { rows: [], tornTail: false }, 'no ledger yet: no submissions')
  const first = [row(), row({ runnumber: 68007, detail: 'a detail, with "quotes"' })]
  await appendLedger(path, first)
  const afterFirst = readFileSync(path, 'utf8')
  t.equal(afterFirst.slice(0, HEADER.length), HEADER)
  t.equal(afterFirst.split('\n')[1], '2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitting,,,20250101T020000Z-1,condor_submit in submissions/20250101T020000Z-1')
  const second = [row({ state: 'submitted', cluster: 12, proc: 0, detail: 'two\nlines' })]
  await appendLedger(path, second)
  const afterSecond = readFileSync(path, 'utf8')
  t.equal(afterSecond.slice(0, afterFirst.length), afterFirst, 'earlier bytes are never rewritten')
  t.equal((afterSecond.match(/^time,/gm) ?? []).length, 1, 'one header')
  const { rows, tornTail } = await readLedger(path)
  t.equal(tornTail, false)
  t.same(rows, [...first, { ...second[0], detail: 'two lines' }], 'a detail never spans lines')
})

t.test('a torn last line (a crash mid-append) is ignored when read and cut off by the next append', async (t) => {
  const path = join(t.testdir(), 'submissions.csv')
  await appendLedger(path, [row()])
  appendFileSync(path, '2025-01-01T02:00:01Z,68006,new_newcdbtag_v008,1,subm')
  const torn = await readLedger(path)
  t.equal(torn.tornTail, true)
  t.same(torn.rows, [row()])
  t.equal(await appendLedger(path, [row({ state: 'submitted', cluster: 3, proc: 0 })]), true)
  const healed = await readLedger(path)
  t.equal(healed.tornTail, false)
  t.same(healed.rows, [row(), row({ state: 'submitted', cluster: 3, proc: 0 })])

  const headerOnly = join(t.testdir(), 'torn-header.csv')
  writeFileSync(headerOnly, 'time,runnu')
  t.same(await readLedger(headerOnly), { rows: [], tornTail: true })
  await appendLedger(headerOnly, [row()])
  t.same((await readLedger(headerOnly)).rows, [row()], 'a torn header is written again')
})

t.test('a ledger a person broke stops the stage, naming the line', async (t) => {
  const dir = t.testdir()
  const cases: [string, RegExp][] = [
    ['time,run\n', /submissions\.csv:1: header is "time,run"/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,sent,,,s-1,x\n`, /:2: state "sent" is not one of submitting, submitted, failed, unknown, lost/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,12,0,s-1,x\nnot,enough\n`, /:3: has 2 fields, expected 9/],
    [`${HEADER}yesterday,68006,new_newcdbtag_v008,1,submitted,12,0,s-1,x\n`, /:2: time "yesterday" is not a date/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,bad tag,1,submitted,12,0,s-1,x\n`, /:2: tag "bad tag"/],
  ]
  for (const [text, message] of cases) {
    const path = join(dir, 'submissions.csv')
    writeFileSync(path, text)
    await t.rejects(readLedger(path), { constructor: InputError, message })
  }
})
