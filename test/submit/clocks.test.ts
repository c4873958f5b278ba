// Clocks that disagree: the output directory's file server stamps the files a job writes by its own clock, not this
// host's. A finished job that no schedd knows any more is told done by its folder; that must hold with the file
// server's clock behind or ahead of this host's, so a run is neither sent twice nor taken as done by an earlier job.
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readLedger } from '../../lib/files/ledger.js'
import { gatherInputs } from '../../lib/report/gather.js'
import { runViews } from '../../lib/report/runs.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { prepareSubmit as prepare, someRuns, TAG, type Prepared as Setup } from '../helpers/condor-output.js'
import { fakeCondor, submitCalls } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

const act = (s: Setup) => runStageHere('submit', ['--output', s.output, '--do-condor-submit'], s.env)
const status = (s: Setup) => runStageHere('status', ['--output', s.output], s.env)

/** Each run's state on the report's page. */
async function reportStates(s: Setup): Promise<Record<number, string>> {
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  const options = { output: s.output, runType: 'run3auau', maxAttempts: 3, timeout: 60, rules: { payloadTypes: SEED_RULES.payloadTypes } }
  const views = runViews(await gatherInputs(options, s.env, new Date()))
  return Object.fromEntries(views.map((view) => [view.runnumber, view.state]))
}

/** Moves every ledger row `days` into the past, as if the submissions had been made then. */
function backdateLedger(s: Setup, days: number): void {
  const path = join(s.output, 'submissions.csv')
  const shift = (iso: string) => new Date(Date.parse(iso) - days * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z')
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n')
  writeFileSync(path, `${[header, ...lines.map((line) => line.replace(/^[^,]+/, shift))].join('\n')}\n`)
}

/** Sets the mtime of every file under `dir` to `ms`, as a file server whose clock reads that would have. */
function stampTree(dir: string, ms: number): void {
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, name)
    if (statSync(path).isFile()) utimesSync(path, new Date(ms), new Date(ms))
  }
}

/** The one frozen submission's folder. */
const frozenDir = (s: Setup) => join(s.output, 'submissions', readdirSync(join(s.output, 'submissions')).find((n) => !n.startsWith('.'))!)

/** 68001's job wrote its payload at `ms` by the file server's clock; 68002's wrote nothing. */
function jobWrote(s: Setup, ms: number): void {
  const file = join(s.output, 'output', `68001_${TAG}`, `CEMC_meanTime_${TAG}_68001.root`)
  mkdirSync(join(s.output, 'output', `68001_${TAG}`), { recursive: true })
  writeFileSync(file, 'root')
  utimesSync(file, new Date(ms), new Date(ms))
}

/** Both jobs finished (68001's well, 68002's badly) and then left the rotated history: no schedd knows them. */
async function forgotten(s: Setup): Promise<void> {
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=0')
  await fakeCondor(s.state, 'set', '1.1', 'completed', 'exit=1')
  await fakeCondor(s.state, 'forget', '1')
}

t.test('a file server whose clock is an hour behind: a job that wrote its folder 30 minutes after its submission is done, not sent again', async (t) => {
  const s = await prepare(t, someRuns(2))
  t.equal((await act(s)).code, 0)
  await forgotten(s)
  const submitted = Date.parse((await readLedger(join(s.output, 'submissions.csv'))).rows[0]!.time)
  // Three days ago by this host's clock; the server's read an hour less then, when it stamped the frozen copy and,
  // 30 minutes later, the job's payload.
  backdateLedger(s, 3)
  const serverAtSubmit = submitted - 3 * 86400_000 - 3600_000
  stampTree(frozenDir(s), serverAtSubmit)
  jobWrote(s, serverAtSubmit + 30 * 60_000)

  const seen = await status(s)
  t.equal(seen.code, 0, seen.stderr)
  t.match(seen.stdout, new RegExp(`^68001 ${TAG} done: cluster 1 is known to no schedd any more, but wrote output/68001_${TAG}/ at `, 'm'))
  t.match(await reportStates(s), { 68001: 'done' }, 'the page says so too')
  const night = await act(s)
  t.equal(night.code, 0, night.stderr)
  t.match(night.stdout, /^submit: 1 run \(1 retry\) submitted to cluster 2 .*; 1 done but not yet in the CDB\n$/, 'only 68002, which wrote nothing, is sent again')
  t.equal(submitCalls(s.state), 2)
  t.match((await readLedger(join(s.output, 'submissions.csv'))).rows.at(-1), { runnumber: 68002, attempt: 2, cluster: 2 })
})

t.test("a file server whose clock is an hour ahead: an earlier job's files from 30 minutes before the submission do not make it done", async (t) => {
  const s = await prepare(t, someRuns(2))
  t.equal((await act(s)).code, 0)
  await forgotten(s)
  const submitted = Date.parse((await readLedger(join(s.output, 'submissions.csv'))).rows[0]!.time)
  backdateLedger(s, 3)
  const serverAtSubmit = submitted - 3 * 86400_000 + 3600_000
  stampTree(frozenDir(s), serverAtSubmit)
  // By this host's clock, 30 minutes after the submission; by the server's, which stamped it, 30 minutes before.
  jobWrote(s, serverAtSubmit - 30 * 60_000)

  const seen = await status(s)
  t.equal(seen.code, 0, seen.stderr)
  t.match(seen.stdout, new RegExp(`^68001 ${TAG} unknown: `, 'm'), "files older than the submission by the server's clock are an earlier job's")
  t.notMatch(await reportStates(s), { 68001: 'done' }, 'the page says so too')
  const night = await act(s)
  t.equal(night.code, 0, night.stderr)
  t.match(night.stdout, /^submit: 2 runs \(2 retries\) submitted to cluster 2 /)
})
