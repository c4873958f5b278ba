// The report's stories of the runs to process are why's, told from what the report's gather step read (the ledger,
// the lists, the missing files, each job folder) and from the job states its rows were decided by, not read and
// worked out a second time (docs/speed.md, "A campaign night"): the same stories as why tells from its own reads, and
// a story that agrees with its row when a folder changed after gather read it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { gatherInputs } from '../../lib/report/gather.js'
import { jobStates, runViews } from '../../lib/report/runs.js'
import { currentPayloadFile } from '../../lib/rules/calibrations.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { tellStories } from '../../lib/why/story.js'
import { TAG } from '../helpers/condor-output.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { afterSeveralNights } from '../helpers/report-output.js'

t.setTimeout(300_000)

t.test("the stories told from the report's reads are why's own, and agree with the page's rows", async (t) => {
  const out = await afterSeveralNights(t)
  // 66507's job finished two days ago and the schedd's history has forgotten it since; its folder holds one payload of
  // seven, written after it was submitted: done by its folder (writtenSince), and incomplete.
  const ids = new Map((await fakeCondor(out.condorState, 'list')).split('\n').filter(Boolean).map((l) => [l.split(' ')[2], l.split(' ')[0]]))
  await fakeCondor(out.condorState, 'forget', ids.get(`66507_${TAG}`)!)
  const folder = join(out.output, 'output', `66507_${TAG}`)
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, currentPayloadFile('CEMC_meanTime', TAG, 66507)), 'root')

  const options = { output: out.output, runType: 'run3auau', maxAttempts: 2, timeout: 60, rules: { payloadTypes: SEED_RULES.payloadTypes } }
  const inputs = await gatherInputs(options, out.env, new Date())
  t.same(inputs.problems, [])
  const scheduler = inputs.scheduler
  if (!scheduler.answered) throw new Error('the fake scheduler did not answer')
  const known = jobStates(inputs)
  const runs = (inputs.process ?? []).map((run) => run.runnumber)
  t.ok(runs.includes(66507) && runs.includes(66505), 'the forgotten run and the run with missing files are to process')
  const why = { ...options, rules: SEED_RULES, minEvents: undefined, runs, maxMemory: 4, memoryScale: 1.5 }
  // As lib/report.ts tells them: from gather's reads and the states of the page's rows.
  const tell = () => tellStories({
    ...why, scheduler: { ...scheduler, ...known }, ledgers: { ledger: inputs.ledger, uploads: inputs.uploads },
    lists: { runList: inputs.runList ?? [], process: inputs.process ?? [], settled: inputs.settled, missing: inputs.missing },
    folders: inputs.folders,
  }, out.env)
  const told = await tell()
  // As `why` tells them (tasks/why.ts): every file read, the scheduler asked, the states worked out by itself.
  t.same(told, await tellStories(why, out.env), "the same stories as why's own")
  const of = (run: number) => told.find((story) => story.run === run)!
  t.match(of(66507), { job: { state: 'done', detail: /known to no schedd any more, but wrote output\/66507_/ }, next: /incomplete: genStatus wrote no [^;]*HCALIN_meanTime/ },
    'the forgotten job: done by its folder, incomplete')
  t.match(of(66505), { missingFiles: { length: 3 }, listed: [] }, 'the missing files, from the list gather read')
  t.equal(runViews(inputs, known).find((view) => view.runnumber === 66507)?.state, 'done', "the page's row says done too")

  // The folder gone after gather read it: the report's story still tells what its row was decided by, why's own
  // (reading the folder now) no longer.
  rmSync(folder, { recursive: true })
  t.match((await tell()).find((story) => story.run === 66507), { job: { state: 'done' } }, "the report's story agrees with its row")
  t.match((await tellStories(why, out.env)).find((story) => story.run === 66507), { job: { state: 'unknown' } }, 'why, reading the folder now, does not')
})
