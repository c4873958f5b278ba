import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CaloprodError, InputError } from '../../lib/errors.js'
import { appendRows } from '../../lib/files/append-only.js'
import { appendLedger, LEDGER_TABLE, readLedger, type LedgerRow } from '../../lib/files/ledger.js'

const row = (over: Partial<LedgerRow> = {}): LedgerRow => ({
  time: '2025-01-01T02:00:00Z', runnumber: 68006, tag: 'new_newcdbtag_v008', attempt: 1, state: 'submitting',
  cluster: undefined, proc: undefined, submission: '20250101T020000Z-1', detail: 'condor_submit in submissions/20250101T020000Z-1', ...over,
})

const HEADER = 'time,runnumber,tag,attempt,state,cluster,proc,schedd,memory_mb,submission,detail\n'
/** The columns before 2026-12, without the schedd and the memory. */
const FORMER_HEADER = 'time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n'

t.test('rows are appended after a header and read back as written', async (t) => {
  const path = join(t.testdir(), 'submissions.csv')
  t.same(await readLedger(path), { rows: [], tornTail: false }, 'no ledger yet: no submissions')
  const first = [row(), row({ runnumber: 68007, detail: 'a detail, with "quotes"' })]
  await appendLedger(path, first)
  const afterFirst = readFileSync(path, 'utf8')
  t.equal(afterFirst.slice(0, HEADER.length), HEADER)
  t.equal(afterFirst.split('\n')[1], '2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitting,,,,,20250101T020000Z-1,condor_submit in submissions/20250101T020000Z-1')
  const second = [row({ state: 'submitted', cluster: 12, proc: 0, schedd: 'sphnxsub02.sdcc.bnl.gov', memoryMb: 2048, detail: 'two\nlines' })]
  await appendLedger(path, second)
  const afterSecond = readFileSync(path, 'utf8')
  t.equal(afterSecond.slice(0, afterFirst.length), afterFirst, 'earlier bytes are never rewritten')
  t.equal((afterSecond.match(/^time,/gm) ?? []).length, 1, 'one header')
  t.equal(afterSecond.split('\n')[3], '2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,12,0,sphnxsub02.sdcc.bnl.gov,2048,20250101T020000Z-1,two lines')
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

  const headerOnly = join(path, '..', 'torn-header.csv')
  writeFileSync(headerOnly, 'time,runnu')
  t.same(await readLedger(headerOnly), { rows: [], tornTail: true })
  await appendLedger(headerOnly, [row()])
  t.same((await readLedger(headerOnly)).rows, [row()], 'a torn header is written again')
})

t.test('a ledger a person broke stops the stage, naming the line', async (t) => {
  const dir = t.testdir()
  const cases: [string, RegExp][] = [
    ['time,run\n', /submissions\.csv:1: header is "time,run"/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,sent,,,,,s-1,x\n`, /:2: state "sent" is not one of submitting, submitted, failed, unknown, lost/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,12,0,s,512,s-1,x\nnot,enough\n`, /:3: has 2 fields, expected 11/],
    [`${HEADER}yesterday,68006,new_newcdbtag_v008,1,submitted,12,0,s,512,s-1,x\n`, /:2: time "yesterday" is not a date/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,bad tag,1,submitted,12,0,s,512,s-1,x\n`, /:2: tag "bad tag"/],
    [`${HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,12,0,s,lots,s-1,x\n`, /:2: .*memory_mb/],
    [`${FORMER_HEADER}2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,12,0,s,512,s-1,x\n`, /:2: has 11 fields, expected 9/],
  ]
  for (const [text, message] of cases) {
    const path = join(dir, 'submissions.csv')
    writeFileSync(path, text)
    await t.rejects(readLedger(path), { constructor: InputError, message })
  }
})

t.test('a ledger in the columns before the schedd and the memory reads, and the next append upgrades it once', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'submissions.csv')
  const old = [
    '2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitting,,,20250101T020000Z-1,"condor_submit, in submissions"',
    '2025-01-01T02:00:01Z,68006,new_newcdbtag_v008,1,submitted,12,0,20250101T020000Z-1,1 job(s) submitted to cluster 12',
  ]
  writeFileSync(path, `${FORMER_HEADER}${old.join('\n')}\n2025-01-01T02:00:02Z,680`)
  const before = await readLedger(path)
  t.same(before.rows.map((r) => [r.state, r.cluster, r.schedd, r.memoryMb, r.detail]), [
    ['submitting', undefined, undefined, undefined, 'condor_submit, in submissions'],
    ['submitted', 12, undefined, undefined, '1 job(s) submitted to cluster 12'],
  ])
  t.equal(before.tornTail, true)
  const next = row({ time: '2025-01-02T02:00:00Z', state: 'submitted', cluster: 3, proc: 0, schedd: 'sphnxsub02', memoryMb: 512 })
  await appendLedger(path, [next])
  const text = readFileSync(path, 'utf8')
  t.equal(text, `${HEADER}${[
    '2025-01-01T02:00:00Z,68006,new_newcdbtag_v008,1,submitting,,,,,20250101T020000Z-1,"condor_submit, in submissions"',
    '2025-01-01T02:00:01Z,68006,new_newcdbtag_v008,1,submitted,12,0,,,20250101T020000Z-1,1 job(s) submitted to cluster 12',
    '2025-01-02T02:00:00Z,68006,new_newcdbtag_v008,1,submitted,3,0,sphnxsub02,512,20250101T020000Z-1,condor_submit in submissions/20250101T020000Z-1',
  ].join('\n')}\n`, 'every row kept, in the new columns, the torn line dropped')
  t.same((await readLedger(path)).rows, [...before.rows, next])
  await appendLedger(path, [next])
  t.equal(readFileSync(path, 'utf8').slice(0, text.length), text, 'upgraded once: later appends only append')
  t.same(readdirSync(dir), ['submissions.csv'], 'no temporary file left')
})

t.test('a full disk while appending names the ledger and the space left', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async (t) => {
  // Before: "Error: ENOSPC: no space left on device, write", naming no file.
  await t.rejects(appendRows('/dev/full', LEDGER_TABLE, [row()]), {
    constructor: CaloprodError,
    message: /^cannot write \/dev\/full: no space left on the device \(ENOSPC\); \S+ \S+ free in \/dev$/,
  })
})
