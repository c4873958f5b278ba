import t from 'tap'
import { iovEnded, judgeRun, parsePayloadIovs, readPayloadIovs } from '../../lib/cdb/payload-iovs.js'

const OPEN = '9223372036854775807'

t.test('8 and 9 columns, null size and revision; 2^63-1 as a plain number', async (t) => {
  const rows = parsePayloadIovs(
    `[["CEMC_meanTime", "CEMC_meanTime/ab/cd/abcd_CEMC_meanTime_v8_66500.root", "abcd", null, 0, 66500, ${OPEN}, ${OPEN}, null],
      ["HCALIN_meanTime", "x/HCALIN_meanTime_v8_66500.root", "ef", 10, 0, 66400, 0, 66500],
      ["HCALOUT_meanTime", "y", null, null, 0, 1, 0, 66501]]`,
    66500,
  )
  t.equal(rows[0].minorIovEnd, 2 ** 63, 'JSON.parse rounds 2^63-1 up to 2^63')
  t.same(rows.map((row) => row.checksum), ['abcd', 'ef', null], 'the checksum, which settles an interrupted upload')
  t.equal(iovEnded(rows[0], 66500), false)
  t.equal(iovEnded(rows[1], 66500), true, 'an IOV ending at the run has ended')
  t.equal(iovEnded(rows[2], 66500), false)
  const states = judgeRun(rows, 66500, 'v8', ['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime', 'CEMC_BadTowerMap'])
  t.same(Object.fromEntries(states), { CEMC_meanTime: 'current', HCALIN_meanTime: 'missing', HCALOUT_meanTime: 'outdated', CEMC_BadTowerMap: 'missing' })
})

t.test('the BadTowerMap is named EMCalHotMap_<tag>_<run>cdb.root', async (t) => {
  const row = (url: string) => `[["CEMC_BadTowerMap", "${url}", null, null, 0, 66500, 0, 66501]]`
  const judge = (url: string) => judgeRun(parsePayloadIovs(row(url), 66500), 66500, 'v8', ['CEMC_BadTowerMap']).get('CEMC_BadTowerMap')
  t.equal(judge('CEMC_BadTowerMap/00/11/0011_EMCalHotMap_v8_66500cdb.root'), 'current')
  t.equal(judge('CEMC_BadTowerMap/00/11/0011_CEMC_BadTowerMap_v8_66500.root'), 'outdated')
  t.equal(judge('CEMC_BadTowerMap/00/11/0011_EMCalHotMap_v7_66500cdb.root'), 'outdated')
})

t.test('an empty list is no payload at all; a non-list or a bad row says what is wrong', async (t) => {
  t.same(parsePayloadIovs('[]', 66500), [])
  t.throws(() => parsePayloadIovs('', 66500), /the answer is empty, not JSON/)
  t.throws(() => parsePayloadIovs('<html><title>Bad Gateway</title></html>', 66500), /an HTML page "Bad Gateway", not JSON/)
  t.throws(() => parsePayloadIovs('[["CEMC_meanTime", "", null, null, 0, 1, 0, 2]]', 66500), /row 1 \(CEMC_meanTime\): payload_url is string "", not a non-empty string/)
  t.throws(() => parsePayloadIovs('[["CEMC_meanTime", "u", null, 1.5, 0, 1, 0, 2]]', 66500), /size is number 1.5, not an integer or null/)
  t.throws(() => parsePayloadIovs('[[null, "u", null, null, 0, 1, 0, 2]]', 66500), /row 1: payload_type is null, not a name/)
  t.throws(() => parsePayloadIovs('[7]', 66500), /row 1 is number 7, not a row of 8 or 9 columns/)
})

t.test('an answer already parsed (as upload has it) is checked the same way', async (t) => {
  const row = (start: number) => `["CEMC_meanTime", "u", "abcd", null, 0, ${start}, 0, 66501]`
  t.same(readPayloadIovs(JSON.parse(`[${row(66500)}]`), 66500), parsePayloadIovs(`[${row(66500)}]`, 66500))
  t.throws(() => readPayloadIovs(JSON.parse(`[${row(66500)}, ${row(66400)}]`), 66500), /two rows for payload type CEMC_meanTime/)
  t.throws(() => readPayloadIovs(JSON.parse(`[${row(66501)}]`), 66500), /starts at IOV \(0, 66501\), after the run/)
  t.throws(() => readPayloadIovs(JSON.parse('{"detail": "x"}'), 66500), /the answer is an object, not a list/)
})

t.test('no exact integers needed: an IOV end is only compared with 0 and with a run, and every run is below 2^53', async (t) => {
  const row = (majorEnd: string, minorEnd: string) => `[["CEMC_meanTime", "CEMC_meanTime_v8_66500.root", null, null, 0, 66500, ${majorEnd}, ${minorEnd}]]`
  const ended = (majorEnd: string, minorEnd: string, run = 66500) => iovEnded(parsePayloadIovs(row(majorEnd, minorEnd), run)[0], run)
  t.equal(ended(OPEN, OPEN), false, 'open at both ends')
  t.equal(ended('0', OPEN), false, 'major 0, minor open')
  t.equal(ended('0', '9223372036854775806'), false, '2^63-2 reads as 2^63 too: still after every run')
  t.equal(ended('0', String(2 ** 53 - 1), 2 ** 53 - 2), false, 'the largest exact run')
  t.equal(ended('0', '66501'), false)
  t.equal(ended('0', '66500'), true)
  t.equal(ended('-1', OPEN), true, 'a negative major end has ended')
})
