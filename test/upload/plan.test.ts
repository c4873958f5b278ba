import t from 'tap'
import { attachEffect, planRun } from '../../lib/upload/plan.js'
import type { PayloadCheck } from '../../lib/upload/payload-files.js'
import { latestUploads, type UploadRow } from '../../lib/upload/ledger.js'
import type { PayloadIov } from '../../lib/cdb/payload-iovs.js'
import { firstAfter, insertedRow, OPEN_END, withMine, type Inserted } from '../../lib/upload/model.js'
import { insertionGroups } from '../../lib/upload/order.js'
import type { PlanLine } from '../../lib/upload/plan.js'
import { attachPiov, Crash, MAXSIZE } from '../fakes/cdb-write-lib.mjs'
import { selectIov, type FakeCdbState } from '../fakes/cdb-lib.mjs'

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
  const holds = [row('CEMC_meanTime', 'x', md5)]
  t.match(planRun({ ...view, cdb: holds }, 'newcdbtag', lists, latestUploads([uploaded]))[0], { action: 'skip', why: /^in the ledger: uploaded .* \(piov 7\)$/ })
  const lost = /, IOV \[68001, 68002\); the ledger says uploaded 2026-12-01T00:00:00Z \(piov 7\), but the CDB does not hold this checksum for the run$/
  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, latestUploads([uploaded]))[0], { action: 'insert', piov: undefined, why: lost }, 'the ledger alone skips nothing')
  t.match(planRun({ ...view, cdb: [row('CEMC_meanTime', 'x', md5, RUN - 10, RUN)] }, 'newcdbtag', lists, latestUploads([uploaded]))[0], { action: 'insert' }, 'nor by an IOV of it that ended before the run')
  t.match(planRun({ ...view, cdb: [], detached: new Set([7]) }, 'newcdbtag', lists, latestUploads([uploaded]))[0], { action: 'insert', piov: 7, why: /^piov 7, made for / }, 'its payload IOV in no list: attached, not made again')
  t.match(planRun({ ...view, cdb: [], detached: new Set([7]) }, 'newcdbtag', lists, latestUploads([{ ...uploaded, checksum: 'cd'.repeat(16) }]))[0], { action: 'insert', piov: undefined }, 'not for another file')
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
        effect.open
          ? { id: 99, url: 'new', checksum: 'c', size: null, minor_iov: run, minor_iov_end: MAXSIZE.toString(), major_iov_end: MAXSIZE.toString(), list: null }
          : { id: 99, url: 'new', checksum: 'c', size: null, minor_iov: run, minor_iov_end: run + 1, major_iov_end: 0, list: null },
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

type FakeState = FakeCdbState & { globalTags: Record<string, { status: 'unlocked'; lists: string[] }>; piovs: NonNullable<FakeCdbState['piovs']> }
const LAST = 1e9
/** payloadiovs' row of type T at run `r` in the fake (its read side, selectIov: the older of two rows with one start). */
function fakeRows(state: FakeState, r: number): PayloadIov[] {
  const iov = selectIov(state, 'T', r, () => undefined, 'g') as { start: bigint; end: bigint; url: string; checksum?: string } | undefined
  if (!iov) return []
  const open = iov.end >= MAXSIZE
  return [{ type: 'T', url: iov.url, checksum: iov.checksum ?? 'c', majorIov: 0, minorIov: Number(iov.start), majorIovEnd: open ? OPEN_END : 0, minorIovEnd: open ? OPEN_END : Number(iov.end) }]
}

/** Attaches a new piov of [run, run+1) or [run, ∞) in the fake; whether nopayloaddb crashed on it. */
function fakeInsert(state: FakeState, run: number, open: boolean): boolean {
  const id = 1000 + run
  const end = open ? MAXSIZE.toString() : run + 1
  state.piovs.push({ id, url: `n${run}`, checksum: 'c', size: null, minor_iov: run, minor_iov_end: end, major_iov_end: open ? end : 0, list: null })
  try {
    attachPiov(state, { payload_list: 'T_g', piov_id: id }, 'none')
    return false
  } catch (err) {
    if (!(err instanceof Crash)) throw err
    state.piovs.pop()
    return true
  }
}

/**
 * One upload of `runs` into type T as runUpload does it: insertionGroups' order, each run's views with this
 * upload's inserts in (withMine), attachEffect's decision. `act`: each insert made in the fake and its views read
 * from it; else (the plan) every view is of the state before the upload. What each step saw and decided.
 */
async function upload(state0: FakeState, runs: number[], act: boolean) {
  const state = structuredClone(state0)
  const mine: Inserted[] = []
  const rows = (at: number) => withMine(fakeRows(act ? state : state0, at), at, mine)
  const steps: string[] = []
  const refused: { run: number; effect: ReturnType<typeof attachEffect>; before: FakeState }[] = []
  const [group] = insertionGroups(runs.map((runnumber) => ({ runnumber })), ['T'], fakeRows(state0, LAST))
  for (const { runnumber: run } of group!.runs) {
    const views = { cdb: rows(run), before: rows(run - 1), after: rows(run + 1), last: rows(LAST) }
    const effect = attachEffect('T', { runnumber: run, tag: 'x', checks: [], ...views })
    const moved = effect.moves ? await firstAfter(async (at) => rows(at), 'T', run, views.last[0]) : undefined
    steps.push(`${run}: ${JSON.stringify(views)} ${JSON.stringify({ ...effect, moves: !!effect.moves, moved })}`)
    if (effect.fails || effect.hides) {
      refused.push({ run, effect, before: structuredClone(state) })
      continue
    }
    if (act && fakeInsert(state, run, !!effect.open)) steps.push(`${run}: crashed`)
    else mine.push(insertedRow({ runnumber: run, type: 'T', url: `n${run}`, file: { md5: 'c' }, open: effect.open, moved } as unknown as PlanLine))
  }
  return { steps, state, mine, refused }
}

t.test('one upload of several runs, open last IOVs too: the plan foresees every view the act sees and the fake\'s outcome', async (t) => {
  const next = random(8)
  const pick = (n: number) => Math.floor(next() * n)
  const mismatches: string[] = []
  const counts = { open: 0, inserted: 0, allIn: 0, consecutiveOverOpen: 0, refusedFails: 0, refusedHides: 0, moved: 0 }
  for (let round = 0; round < 3000; round++) {
    const piovs: FakeState['piovs'] = []
    let at = pick(4)
    while (at < 40 && piovs.length < 5) {
      const open = next() < 0.3
      const end = next() < 0.5 ? at + 1 : at + 1 + pick(8)
      piovs.push({ id: piovs.length + 1, url: `u${at}`, checksum: 'c', size: null, minor_iov: at, minor_iov_end: open ? MAXSIZE.toString() : end, major_iov_end: open ? MAXSIZE.toString() : 0, list: 'T_g', type: 'T', globalTag: 'g' })
      if (open) break
      at = end + pick(6)
    }
    // 1 to 5 runs, often consecutive.
    const runs = new Set<number>()
    let run = pick(45)
    for (let n = 1 + pick(5); n > 0; n--) {
      runs.add(run)
      run += next() < 0.6 ? 1 : 2 + pick(6)
    }
    const state0: FakeState = { globalTags: { g: { status: 'unlocked', lists: ['T'] } }, piovs }
    const bounds = piovs.map((p) => `[${p.minor_iov},${p.major_iov_end === 0 ? p.minor_iov_end : 'inf'})`).join(' ')
    const layout = `${bounds} + runs ${[...runs].join(',')}`
    const plan = await upload(state0, [...runs], false)
    const done = await upload(state0, [...runs], true)
    const differ = plan.steps.findIndex((step, i) => step !== done.steps[i])
    if (differ >= 0 || plan.steps.length !== done.steps.length) {
      mismatches.push(`${layout}: the plan saw ${plan.steps[differ]}, the act ${done.steps[differ]}`)
      continue
    }
    // Each run inserted is its own readers' payload; each run refused is one the fake would fail or hide.
    for (const { row } of done.mine) {
      if (fakeRows(done.state, row.minorIov)[0]?.url !== row.url) mismatches.push(`${layout}: run ${row.minorIov} does not read its payload`)
    }
    for (const { run, effect, before } of done.refused) {
      const crashed = fakeInsert(before, run, false)
      const hides = !crashed && fakeRows(before, run)[0]?.url !== `n${run}`
      if (crashed !== !!effect.fails || hides !== !!effect.hides) mismatches.push(`${layout}: run ${run} refused as ${JSON.stringify(effect)}, fake ${crashed ? 'fails' : hides ? 'hides' : 'takes it'}`)
      if (effect.fails) counts.refusedFails++
      else counts.refusedHides++
    }
    const lastOpen = piovs.at(-1)?.major_iov_end !== 0 && piovs.length > 0
    const above = [...runs].filter((r) => lastOpen && r > (piovs.at(-1)!.minor_iov as number))
    counts.open += done.mine.filter((m) => m.row.majorIovEnd > 0).length
    counts.moved += done.mine.filter((m) => m.moved).length
    counts.inserted += done.mine.length
    if (done.refused.length === 0) counts.allIn++
    if (above.some((r) => runs.has(r + 1))) {
      counts.consecutiveOverOpen++
      // Above an open last IOV every run goes in.
      const missed = above.filter((r) => !done.mine.some((m) => m.row.minorIov === r))
      if (missed.length) mismatches.push(`${layout}: runs ${missed.join(',')} above the open last IOV not inserted`)
    }
  }
  t.same(mismatches.slice(0, 5), [], 'every upload foreseen')
  t.ok(counts.open > 500 && counts.consecutiveOverOpen > 200 && counts.moved > 100 && counts.refusedFails > 100 && counts.refusedHides > 10, JSON.stringify(counts))
})

t.test('a payload URL of 255 characters is insertable, one of 256 not (PayloadIOV.payload_url, max_length 255)', async (t) => {
  const named = (name: string): PayloadCheck => ({ ok: true, file: { type: 'CEMC_meanTime', path: '/x', name, size: 10, md5 } })
  const prefix = `CEMC_meanTime/ab/ab/${md5}_`.length
  const plan = (name: string) => planRun({ runnumber: RUN, tag: TAG, checks: [named(name)], cdb: [] }, 'newcdbtag', lists, latestUploads([]))[0]!
  t.match(plan('n'.repeat(255 - prefix)), { action: 'insert' })
  t.match(plan('n'.repeat(256 - prefix)), { action: 'not', problem: 'url', why: /^its URL in the store has 256 characters, more than the 255 nopayloaddb keeps/ })
})
