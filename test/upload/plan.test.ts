import t from 'tap'
import { attachEffect, planRun } from '../../lib/upload/plan.js'
import type { PayloadCheck } from '../../lib/upload/payload-files.js'
import { latestUploads, type UploadRow } from '../../lib/upload/ledger.js'
import type { PayloadIov } from '../../lib/cdb/payload-iovs.js'
import { attachPiov, Crash, MAXSIZE } from '../fakes/cdb-write-lib.mjs'
import { selectIov } from '../fakes/cdb-lib.mjs'

const TAG = 'new_newcdbtag_v008'
const RUN = 68001
const md5 = 'ab'.repeat(16)
const file = (type: 'CEMC_meanTime' | 'HCALIN_meanTime'): PayloadCheck => ({ ok: true, file: { type, path: `/out/${type}.root`, name: `${type}_${TAG}_${RUN}.root`, size: 10, md5 } })
const lists = new Map([['CEMC_meanTime', 'CEMC_meanTime_1'], ['HCALIN_meanTime', 'HCALIN_meanTime_2']])
const row = (type: string, url: string, checksum: string, start = RUN, end = RUN + 1) =>
  ({ type, url, checksum, majorIov: 0, minorIov: start, majorIovEnd: 0, minorIovEnd: end })

t.test('insert, or skip by the ledger, the checksum in the CDB, a current payload built elsewhere; not without a list', async (t) => {
  const view = { runnumber: RUN, tag: TAG, checks: [file('CEMC_meanTime'), file('HCALIN_meanTime')] }
  const [a, b] = planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([]))
  t.match(a, { action: 'insert', url: `CEMC_meanTime/ab/ab/${md5}_CEMC_meanTime_${TAG}_${RUN}.root`, why: /IOV \[68001, 68002\)$/ })
  t.equal(b!.action, 'insert')

  const uploaded: UploadRow = { time: '2026-12-01T00:00:00Z', runnumber: RUN, tag: TAG, type: 'CEMC_meanTime', globalTag: 'newcdbtag', state: 'uploaded', checksum: md5, piov: 7, url: 'x', detail: '' }
  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([uploaded]))[0], { action: 'skip', why: /^in the ledger: uploaded .* \(piov 7\)$/ })
  t.equal(planRun({ ...view, cdb: [] }, 'othertag', lists, latestUploads([uploaded]))[0]!.action, 'insert', 'the ledger counts per global tag')
  t.equal(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([uploaded, { ...uploaded, state: 'failed' }]))[0]!.action, 'insert', 'the latest row decides')
  const created = { ...uploaded, state: 'created' as const, piov: 9 }
  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([created]))[0], { action: 'insert', piov: 9, why: /^piov 9, made for / }, 'a piov made and not attached is attached, not made again')
  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([{ ...created, checksum: 'cd'.repeat(16) }]))[0], { action: 'insert', piov: undefined }, 'unless the file changed')

  t.match(planRun({ ...view, cdb: [row('CEMC_meanTime', 'u', md5)] }, 'newcdbtag', lists, latestUploads([]))[0], { action: 'skip', why: /already in the CDB with this checksum/ })
  t.equal(planRun({ ...view, cdb: [row('CEMC_meanTime', 'u', md5, RUN - 10, RUN)] }, 'newcdbtag', lists, latestUploads([]))[0]!.action, 'insert', 'an IOV that ended before the run does not count')
  const elsewhere = row('CEMC_meanTime', `/cdb/CEMC_meanTime_${TAG}_${RUN}.root`, 'ff'.repeat(16), RUN - 5, RUN + 100)
  t.match(planRun({ ...view, cdb: [elsewhere] }, 'newcdbtag', lists, latestUploads([]))[0], { action: 'skip', why: /already has a current payload .* not replaced/ })
  const outdated = row('CEMC_meanTime', `/cdb/CEMC_meanTime_old_${RUN}.root`, 'ff'.repeat(16))
  t.equal(planRun({ ...view, cdb: [outdated] }, 'newcdbtag', lists, latestUploads([]))[0]!.action, 'insert', 'an outdated payload is replaced for this run')
  const spanning = row('CEMC_meanTime', `/cdb/CEMC_meanTime_old_${RUN}.root`, 'ff'.repeat(16), RUN - 5, RUN + 100)
  t.match(planRun({ ...view, cdb: [spanning] }, 'newcdbtag', lists, latestUploads([]))[0], {
    action: 'not',
    problem: 'layout',
    why: /^run 68001 lies inside the closed IOV \[67996, 68101\) of .*: nopayloaddb's continuous insert fails there \(an HTML 500\)/,
  })

  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', new Map([['CEMC_meanTime', 'l']]), latestUploads([]))[1], { action: 'not', why: /no payload list for HCALIN_meanTime; creating one in a tag is an administrator's act/ })
  const missing: PayloadCheck = { ok: false, problem: { type: 'HCALIN_meanTime', path: '/x', reason: 'missing', detail: 'no file' } }
  t.match(planRun({ ...view, checks: [missing], cdb: [] }, 'newcdbtag', lists, latestUploads([]))[0], { action: 'not', problem: 'missing', why: 'missing: no file' })
})

/** A small seeded generator (mulberry32): the same layouts every run. */
function random(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), a | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('attachEffect foresees what the fake nopayloaddb (the real one\'s algorithm) does, over 3000 layouts', async (t) => {
  const next = random(21)
  const pick = (n: number) => Math.floor(next() * n)
  const mismatches: string[] = []
  let fails = 0
  let moves = 0
  let hidden = 0
  for (let round = 0; round < 3000; round++) {
    // A list of a few non-overlapping IOVs between runs 0 and 40, some open, some one run long; the run to insert.
    const piovs: { id: number; url: string; checksum: string; size: null; minor_iov: number; minor_iov_end: number | string; major_iov_end: number | string; list: string | null }[] = []
    let at = pick(4)
    while (at < 40 && piovs.length < 5) {
      const open = next() < 0.15
      const end = next() < 0.5 ? at + 1 : at + 1 + pick(8)
      piovs.push({ id: piovs.length + 1, url: `u${at}`, checksum: 'c', size: null, minor_iov: at, minor_iov_end: open ? MAXSIZE.toString() : end, major_iov_end: open ? MAXSIZE.toString() : 0, list: 'L' })
      if (open) break
      at = end + pick(6)
    }
    const run = pick(45)
    const bounds = piovs.map((p) => `[${p.minor_iov},${p.major_iov_end === 0 ? p.minor_iov_end : 'inf'})`).join(' ')
    // What payloadiovs answers at a run: the IOV with the latest start at or before it.
    const rowsAt = (r: number): PayloadIov[] => {
      const latest = piovs.filter((p) => p.minor_iov <= r).sort((a, b) => a.minor_iov - b.minor_iov).at(-1)
      return latest ? [{ type: 'T', url: latest.url, checksum: 'c', majorIov: 0, minorIov: latest.minor_iov, majorIovEnd: Number(latest.major_iov_end), minorIovEnd: Number(latest.minor_iov_end) }] : []
    }
    const effect = attachEffect('T', { runnumber: run, tag: 'x', checks: [], cdb: rowsAt(run), before: rowsAt(run - 1), after: rowsAt(run + 1), last: rowsAt(1e9) })
    const state = {
      globalTags: { g: { status: 'unlocked' as const, lists: ['T'] } },
      piovs: [
        ...piovs.map((p) => ({ ...p, list: 'T_g', type: 'T', globalTag: 'g' })),
        { id: 99, url: 'new', checksum: 'c', size: null, minor_iov: run, minor_iov_end: run + 1, major_iov_end: 0, list: null },
      ],
    }
    let crashed = false
    try {
      attachPiov(state, { payload_list: 'T_g', piov_id: 99 }, 'none')
    } catch (err) {
      if (!(err instanceof Crash)) throw err
      crashed = true
    }
    // Moved: an IOV kept in the list whose start went back over runs no longer its own neighbour's.
    const moved = !crashed && state.piovs.some((p) => p.id !== 99 && p.list && piovs.find((q) => q.id === p.id && q.minor_iov > p.minor_iov))
    // Hidden: what payloadiovs then answers at the run (the fake's read side) is not the new payload.
    const hides = !crashed && selectIov(state, 'T', run, () => undefined, 'g')?.url !== 'new'
    if (crashed) fails++
    if (moved) moves++
    if (hides) hidden++
    const fake = crashed ? 'fails' : hides ? 'hides' : moved ? 'moves' : 'ok'
    if (crashed !== !!effect.fails || hides !== !!effect.hides || moved !== !!effect.moves) {
      mismatches.push(`${bounds} + [${run},${run + 1}): fake ${fake}, foreseen ${JSON.stringify(effect)}`)
    }
  }
  t.same(mismatches.slice(0, 5), [], 'every layout foreseen')
  t.ok(fails > 300 && moves > 300 && hidden > 10, `every kind occurs (${fails} fail, ${hidden} hide, ${moves} move)`)
})
