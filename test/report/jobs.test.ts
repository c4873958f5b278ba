// The report's view of jobs must be status's: a job no schedd knows that wrote its folder is done, a schedd the
// ledger names is asked by name, a run is matched to the process list by run and tag, and a finished job whose
// folder is gone wrote none of its payloads. Each case is built with the fake scheduler, as status sees it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { gatherInputs } from '../../lib/report/gather.js'
import { needsAPerson, runViews } from '../../lib/report/runs.js'
import { runReport } from '../../lib/report.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { prepareSubmit as prepare, someRuns, TAG, type Prepared } from '../helpers/condor-output.js'
import { DEFAULT_SCHEDD, fakeCondor } from '../helpers/fake-condor.js'
import { pageStories } from '../helpers/page-stories.js'
import { runStageHere } from '../helpers/run-script.js'

const OTHER = 'sphnxsub02.fake.bnl.gov'

const options = (s: Prepared) =>
  ({ output: s.output, runType: 'run3auau', maxAttempts: 3, timeout: 60, rules: { payloadTypes: SEED_RULES.payloadTypes } })

/** The report's rows, as runViews makes them from what gatherInputs read. */
async function views(s: Prepared, env: Record<string, string> = {}) {
  return runViews(await gatherInputs(options(s), { ...s.env, ...env }, new Date()))
}

/** The page's text, tags dropped, then its stories as its script draws them. */
async function page(s: Prepared, env: Record<string, string> = {}): Promise<string> {
  let html = ''
  await runReport(options(s), { ...s.env, ...env }, new Date(), (text) => (html = text))
  const text = html.replace(/<script[^]*?<\/script>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
  return `${text} ${[...pageStories(html).values()].join(' ')}`.replace(/\s+/g, ' ')
}

/** Two runs, in the run list and the process list, submitted to this host's schedd as cluster 1. */
async function submitted(t: Parameters<typeof prepare>[0]): Promise<Prepared> {
  const s = await prepare(t, someRuns(2))
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  const result = await runStageHere('submit', ['--output', s.output, '--do-condor-submit'], s.env)
  t.equal(result.code, 0, result.stderr)
  return s
}

t.test('a job no schedd knows that wrote its folder is done, in the row and in the story, as status says', async (t) => {
  const s = await submitted(t)
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=0')
  await fakeCondor(s.state, 'forget', '1')
  const folder = join(s.output, 'output', `68001_${TAG}`)
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, `CEMC_meanTime_${TAG}_68001.root`), 'root')
  const [run] = await views(s)
  t.equal(run!.state, 'done')
  t.match(run!.detail, new RegExp(`^cluster 1 is known to no schedd any more, but wrote output/68001_${TAG}/ at `))
  const text = await page(s)
  t.match(text, /scheduler now: done: cluster 1 is known to no schedd any more/, "the run's story says done")
  t.notMatch(text, /68001[^]*known to neither condor_q nor condor_history/, 'nowhere unknown')
  t.notMatch(text, /submitted again if it wrote nothing/, 'not to be sent again')
})

t.test("a job on a schedd the ledger names, not this host's: asked by name, held as status says", async (t) => {
  const s = await submitted(t)
  await fakeCondor(s.state, 'set', '1.0', 'held', 'code=21', 'reason=Cannot access initial working directory')
  const moved = { FAKE_CONDOR_SCHEDD: OTHER }
  const status = await runStageHere('status', ['--output', s.output], { ...s.env, ...moved })
  t.match(status.stdout, /^68001 \S+ held: /m)
  const [held, queued] = await views(s, moved)
  t.equal(held!.state, 'held')
  t.equal(held!.holdReason, 'Cannot access initial working directory')
  t.equal(queued!.state, 'queued')
  t.match(await page(s, moved), /run 68001 .* scheduler now: held: /, "the run's story says held")
  // That schedd down: its runs are unknown, and the row says which schedd did not answer.
  const down = await views(s, { ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })
  t.equal(down[0]!.state, 'unknown')
  t.match(down[0]!.detail, new RegExp(`schedd ${DEFAULT_SCHEDD.replace(/\./g, '\\.')} did not answer`))
})

t.test('a newer tag than the process list has (its check refused) is not yet checked, not a run without a list', async (t) => {
  const s = await submitted(t)
  const newer = 'new_newcdbtag_v009'
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${newer}\n68002,${TAG}\n`)
  const [run, other] = await views(s)
  t.match(run, { runnumber: 68001, tag: newer, state: 'unchecked', toProcess: false })
  t.match(other, { runnumber: 68002, state: 'queued', toProcess: true })
  t.same(needsAPerson([run!, other!], new Date()), [], 'nothing for a person: the next check asks about it')
})

t.test("a finished job whose folder is gone wrote none of its payloads: incomplete, as status says", async (t) => {
  const s = await submitted(t)
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=0')
  rmSync(join(s.output, 'output', `68001_${TAG}`), { recursive: true, force: true })
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status.stdout, /^68001 \S+ done: .*; incomplete: genStatus wrote no CEMC_BadTowerMap/m)
  const [run] = await views(s)
  t.equal(run!.state, 'done')
  t.same(run!.absent, SEED_RULES.payloadTypes)
  t.match(run!.detail, /; incomplete: genStatus wrote no CEMC_BadTowerMap, /)
  t.match(needsAPerson([run!], new Date()), [{ runnumber: 68001, what: 'incomplete' }])
})

t.test("the nights plot counts an interrupted submission by how the scheduler settles it, as the rows do", async (t) => {
  const s = await prepare(t, someRuns(2))
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  // A submit killed after its announcement: condor_q runs a job of 68001 (cluster 7); 68002 never reached it.
  const announced = [68001, 68002].map((run) => `2025-01-01T02:00:00Z,${run},${TAG},1,submitting,,,20250101T020000Z-1,x\n`)
  writeFileSync(join(s.output, 'submissions.csv'), `time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n${announced.join('')}`)
  writeFileSync(s.state, JSON.stringify({
    nextCluster: 8, calls: [],
    jobs: [{ ClusterId: 7, ProcId: 0, JobStatus: 2, EnteredCurrentStatus: 1735696800, CaloprodRunTag: `68001_${TAG}`, CaloprodOutput: s.output }],
  }))
  let html = ''
  await runReport(options(s), s.env, new Date(), (text) => (html = text))
  const nights = /<figure class="plot" id="plot-nights">[^]*?<\/figure>/.exec(html)?.[0] ?? ''
  const legend = [...nights.matchAll(/<span>([^<]+)<\/span>|>([a-z][a-z ,()]+)</g)].map((m) => m[1] ?? m[2]).join('|')
  t.match(legend, /running/, '68001: running, as its row says')
  t.match(legend, /never reached the scheduler/, '68002: lost')
  t.notMatch(legend, /not known/, 'neither is "not known": the scheduler answered')
})
