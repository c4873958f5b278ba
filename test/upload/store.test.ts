import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { checkPayload, md5File, unusablePayloads, type PayloadProblem } from '../../lib/upload/payload-files.js'
import { copyIntoStore, storeUrl } from '../../lib/upload/store.js'
import { PAYLOAD_TYPES, payloadState } from '../../lib/rules/calibrations.js'
import { rootFile } from '../helpers/root-file.js'

t.test('the store: nopayloadclient layout, copy once, same bytes kept, other bytes never overwritten', async (t) => {
  const dir = t.testdir({ 'a.root': 'root payload A', 'b.root': 'root payload B' }) // the store copies any bytes
  const store = join(dir, 'store')
  mkdirSync(store)
  const md5 = await md5File(join(dir, 'a.root'))
  const url = storeUrl('CEMC_meanTime', md5, 'CEMC_meanTime_tag_68001.root')
  t.equal(url, `CEMC_meanTime/${md5.slice(0, 2)}/${md5.slice(2, 4)}/${md5}_CEMC_meanTime_tag_68001.root`)
  t.equal(await copyIntoStore(store, url, join(dir, 'a.root'), md5), 'copied')
  t.equal(readFileSync(join(store, url), 'utf8'), 'root payload A')
  t.equal(await copyIntoStore(store, url, join(dir, 'a.root'), md5), 'present', 'the same bytes again: kept as they are')
  writeFileSync(join(store, url), 'root something else')
  await t.rejects(copyIntoStore(store, url, join(dir, 'a.root'), md5), /is already in the payload store with other bytes .* never overwritten/)
  t.equal(readFileSync(join(store, url), 'utf8'), 'root something else', 'the other file is left alone')
  await t.rejects(copyIntoStore(store, storeUrl('CEMC_meanTime', md5, 'x.root'), join(dir, 'b.root'), md5), /does not have md5/, 'a file that changed under us is refused')
  t.same(readdirSync(join(store, url, '..')).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left')
})

t.test("a big file's END past 2^53 is said exactly, not rounded to a double", async (t) => {
  const tag = 'new_newcdbtag_v008'
  const big = Buffer.concat([Buffer.from('root'), Buffer.alloc(20)])
  big.writeInt32BE(1062206, 4)
  big.writeBigInt64BE(2n ** 53n + 1n, 12)
  const output = t.testdir({ output: { [`68001_${tag}`]: { [`CEMC_meanTime_${tag}_68001.root`]: big } } })
  t.match(await checkPayload(output, 68001, tag, 'CEMC_meanTime'), { ok: false, problem: { reason: 'truncated', detail: /has 24 bytes where its ROOT header says 9007199254740993:/ } })
})

t.test('payload files: missing, empty, not ROOT, cut off or never closed, ok', async (t) => {
  const tag = 'new_newcdbtag_v008'
  const whole = rootFile('map')
  // A big file's header: version over 1000000, END in 8 bytes.
  const big = Buffer.concat([Buffer.from('root'), Buffer.alloc(20), Buffer.from('big')])
  big.writeInt32BE(1062206, 4)
  big.writeBigInt64BE(BigInt(big.length), 12)
  const unclosed = rootFile('records written, header never rewritten')
  unclosed.writeInt32BE(100, 12)
  const output = t.testdir({ output: { [`68001_${tag}`]: {
    [`EMCalHotMap_${tag}_68001cdb.root`]: whole, [`CEMC_meanTime_${tag}_68001.root`]: '', [`HCALIN_meanTime_${tag}_68001.root`]: 'TFile?',
    [`CEMC_hotTowers_fracBadChi2_${tag}_68001.root`]: rootFile('all of it').subarray(0, 25), [`HCALIN_hotTowers_fracBadChi2_${tag}_68001.root`]: unclosed,
    [`HCALOUT_hotTowers_fracBadChi2_${tag}_68001.root`]: 'root', [`CEMC_ZSCrossCalib_${tag}_68001.root`]: big,
  } } })
  t.match(await checkPayload(output, 68001, tag, 'CEMC_BadTowerMap'), { ok: true, file: { name: `EMCalHotMap_${tag}_68001cdb.root`, size: whole.length } })
  t.match(await checkPayload(output, 68001, tag, 'CEMC_ZSCrossCalib'), { ok: true, file: { size: big.length } })
  t.match(await checkPayload(output, 68001, tag, 'CEMC_hotTowers_fracBadChi2'), { ok: false, problem: { reason: 'truncated', detail: /has 25 bytes where its ROOT header says 29: cut off, or never closed/ } })
  t.match(await checkPayload(output, 68001, tag, 'HCALIN_hotTowers_fracBadChi2'), { ok: false, problem: { reason: 'truncated', detail: /where its ROOT header says 100/ } })
  t.match(await checkPayload(output, 68001, tag, 'HCALOUT_hotTowers_fracBadChi2'), { ok: false, problem: { reason: 'truncated', detail: /is shorter than a ROOT header/ } })
  t.match(await checkPayload(output, 68001, tag, 'CEMC_meanTime'), { ok: false, problem: { reason: 'empty' } })
  t.match(await checkPayload(output, 68001, tag, 'HCALIN_meanTime'), { ok: false, problem: { reason: 'not ROOT' } })
  t.match(await checkPayload(output, 68001, tag, 'HCALOUT_meanTime'), { ok: false, problem: { reason: 'missing' } })
  // What status tells by the size and header alone: the same problems, but for a missing file (absentPayloads' part).
  const checks = await Promise.all(PAYLOAD_TYPES.map((type) => checkPayload(output, 68001, tag, type)))
  const refused = checks.flatMap((c): PayloadProblem[] => (c.ok || c.problem.reason === 'missing' ? [] : [c.problem]))
  t.equal(refused.length, 5)
  t.same(await unusablePayloads(output, 68001, tag, PAYLOAD_TYPES), refused)
  t.same(await unusablePayloads(output, 68002, tag, PAYLOAD_TYPES), [], 'no folder: nothing unusable')
  // A FIFO under a payload's name: said, never opened (opening it would wait for a writer for ever).
  const fifo = join(output, 'output', `68001_${tag}`, `HCALOUT_meanTime_${tag}_68001.root`)
  execFileSync('mkfifo', [fifo])
  t.match(await unusablePayloads(output, 68001, tag, ['HCALOUT_meanTime']), [{ reason: 'unreadable', detail: /is not a regular file/ }])
})

t.test('a payload in the store keeps its md5 prefix and is still current', async (t) => {
  const name = 'CEMC_meanTime_tag_68001.root'
  t.equal(payloadState('CEMC_meanTime', 'tag', 68001, `CEMC_meanTime/ab/cd/${'abcd'.padEnd(32, '0')}_${name}`), 'current')
  t.equal(payloadState('CEMC_meanTime', 'tag', 68001, `/cdb/CEMC_meanTime/${name}`), 'current')
  t.equal(payloadState('CEMC_meanTime', 'tag', 68001, `/cdb/CEMC_meanTime/old_${name}`), 'outdated', 'only an md5 may stand before the name')
})
