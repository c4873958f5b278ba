// A year-old output directory, synthesized through caloprod's own writers (freezeSubmission, appendLedger,
// appendUploads, appendRows for log/run-states.csv, recordStageEnd, openLog) wherever one exists: 365 nights of the
// nightly cron, every fourth one busy (180 runs submitted), one job in ten failing and sent again the next night,
// one in fifty held for memory and released, every finished run uploaded the night after (seven payloads, three rows
// each; one run in a hundred refused once), the report recording each run's state changes, a day's log per night.
// Beside it, a fresh directory with the same run list, process list, lists and jobs in flight, and no history:
// the comparison tells what the history costs. Used by bench/year-old.ts; not a test.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freezeSubmission } from '../lib/condor/freeze.js'
import { appendRows } from '../lib/files/append-only.js'
import { formatCsvRecord, type Table } from '../lib/files/csv.js'
import { appendLedger, type LedgerRow } from '../lib/files/ledger.js'
import { openLog } from '../lib/log.js'
import { recordStageEnd } from '../lib/report/last-night.js'
import { currentPayloadFile, SEVEN_PAYLOAD_TYPES } from '../lib/rules/calibrations.js'
import { appendUploads, type UploadRow } from '../lib/upload/ledger.js'
import { writeCondorDir } from '../test/helpers/condor-output.js'
import { DEFAULT_SCHEDD, type FakeJob } from '../test/helpers/fake-condor.js'
import { rootFile } from '../test/helpers/root-file.js'

export interface YearOptions {
  /** Nights of history (365). */
  nights: number
  /** Runs submitted on a busy night (180). */
  perNight: number
  /** Runs of the run type (3000). */
  runs: number
  /** Histogram files per run in reduce.csv and in each list (30). */
  segments: number
}

export interface YearDir {
  output: string
  /** The fake HTCondor's state: the queue and the history of the last ten nights (a history rotates). */
  condorState: string
  /** The runs of the process list, the night after the year. */
  processRuns: { runnumber: number; tag: string }[]
}

const DAY = 86_400_000
/** A job of the fake HTCondor, with the time it entered its state (condor_q's EnteredCurrentStatus). */
type Job = FakeJob & { EnteredCurrentStatus: number }
const FIRST_RUN = 66457
/** The states the report records (lib/report/runs.ts's names) a run goes through once submitted. */
const STATE_PATH = ['needs-maps', 'queued', 'running', 'done', 'uploaded', 'current']

/** log/run-states.csv's columns, as lib/report/last-night.ts writes them. */
const STATES_TABLE: Table<{ time: string; runnumber: number; tag: string; state: string }> = {
  columns: ['time', 'runnumber', 'tag', 'state'],
  toFields: (r) => [r.time, r.runnumber, r.tag, r.state],
  fromFields: () => { throw new Error('write only') },
}

const tagOf = (campaign: number) => `new_newcdbtag_v${String(8 + campaign).padStart(3, '0')}`
const runAt = (i: number) => FIRST_RUN + i * 4
const pathOf = (run: number, tag: string, segment: number) =>
  `/sphenix/lustre01/sphnxpro/production/run3auau/physics/${tag}/HIST_CALOQA/run_000${Math.floor(run / 100) * 100}/` +
  `HIST_CALOQA_run3auau_${tag}-000${run}-${String(segment).padStart(5, '0')}.root`
const iso = (t: number) => new Date(t).toISOString()
const second = (t: number) => iso(t).replace(/\.\d+Z$/, 'Z')
const md5Of = (run: number, type: number) => (run.toString(16) + type.toString(16)).padStart(32, 'a').slice(-32)

/** The files every night rewrites (run list, reduce.csv, settled, process list, lists, condor/): same in both. */
async function currentFiles(output: string, options: YearOptions, processRuns: YearDir['processRuns'], finalTag: string, end: number) {
  mkdirSync(join(output, 'datasets'), { recursive: true })
  const runs = Array.from({ length: options.runs }, (_, i) => runAt(i))
  const toProcess = new Set(processRuns.map((r) => r.runnumber))
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n${runs.map((r) => `${r},${finalTag}\n`).join('')}`)
  writeFileSync(join(output, 'run3auau-process.csv'), `runnumber,tag,missing,outdated\n${processRuns.map((r) => `${r.runnumber},${r.tag},${SEVEN_PAYLOAD_TYPES.join(' ')},\n`).join('')}`)
  writeFileSync(join(output, 'run3auau-settled.csv'), `runnumber,tag,checked_at,payload_types\n${runs.filter((r) => !toProcess.has(r))
    .map((r) => `${r},${finalTag},${second(end - DAY)},${SEVEN_PAYLOAD_TYPES.join(' ')}\n`).join('')}`)
  const parts = ['runnumber,tag,segment,events,full_file_path,time\n']
  for (const r of runs) {
    let chunk = ''
    for (let s = 0; s < options.segments; s++) chunk += formatCsvRecord([r, finalTag, s, 9000 + ((r * 7 + s * 13) % 2000), pathOf(r, finalTag, s), '2026-07-01 12:00:00'])
    parts.push(chunk)
  }
  writeFileSync(join(output, 'reduce.csv'), parts.join(''))
  writeFileSync(join(output, 'query.csv'), parts.join(''))
  writeFileSync(join(output, 'run3auau-missing.csv'), 'full_file_path\n')
  for (const r of processRuns) writeFileSync(join(output, 'datasets', `${r.runnumber}_${r.tag}.list`), listOf(r.runnumber, r.tag, options.segments))
  writeFileSync(join(output, 'run3auau-check.json'), `${JSON.stringify({ runs: options.runs, to_process: processRuns.length, payload_types: Object.fromEntries(SEVEN_PAYLOAD_TYPES.map((t) => [t, { missing: processRuns.length, outdated: 0 }])) }, null, 2)}\n`)
}

const listOf = (run: number, tag: string, segments: number) =>
  Array.from({ length: segments }, (_, s) => `${pathOf(run, tag, s)}\n`).join('')

/** The payloads genStatus writes for a finished run (small, but ROOT files by their first bytes). */
function writePayloads(output: string, run: number, tag: string) {
  const dir = join(output, 'output', `${run}_${tag}`)
  mkdirSync(dir, { recursive: true })
  for (const type of SEVEN_PAYLOAD_TYPES) writeFileSync(join(dir, currentPayloadFile(type, tag, run)), rootFile(`payload ${type} ${run}\n`))
}

/**
 * Builds both directories under `root` (`year/` and `fresh/`), the year ending `end` (ms). The last busy night is
 * two nights before the end: its 180 runs are the process list, a mix of idle, running, held and finished jobs.
 */
export async function synthesizeYear(root: string, options: YearOptions, end: number, say: (text: string) => void): Promise<{ year: YearDir; fresh: YearDir }> {
  const year = join(root, 'year')
  const fresh = join(root, 'fresh')
  const quiet = { stdout() {}, stderr() {} }
  const ledgerPath = join(year, 'submissions.csv')
  const uploadsPath = join(year, 'uploads.csv')
  const statesPath = join(year, 'log', 'run-states.csv')
  mkdirSync(join(year, 'log'), { recursive: true })
  mkdirSync(join(year, 'datasets'), { recursive: true })
  writeFileSync(join(year, 'run3auau-process.csv'), 'runnumber,tag\n')
  mkdirSync(join(root, 'condor-logs'), { recursive: true })
  const condor = (output: string) => writeCondorDir({ output, state: join(root, 'unused.json'), logs: join(root, 'condor-logs'), env: {} })
  await condor(year)

  const jobs: (Job & { night: number })[] = []
  let cluster = 100_000
  let busyCount = 0
  let pendingRetry: { runnumber: number; tag: string; attempt: number }[] = []
  let pendingRelease: { runnumber: number; tag: string; attempt: number; cluster: number; proc: number; submission: string }[] = []
  let toUpload: { runnumber: number; tag: string }[] = []
  let lastBusy: { runnumber: number; tag: string; cluster: number; submission: string; at: number }[] = []
  const lastBusyNight = options.nights - 2

  for (let n = 0; n < options.nights; n++) {
    const at = end - (options.nights - n) * DAY + 2 * 3600_000
    const now = new Date(at)
    const log = openLog({ stage: 'submit', file: join(year, 'log', `${iso(at).slice(0, 10)}.log`), verbose: false, quiet: true, now: () => now, ...quiet })
    log.info('query: the catalog is unchanged since the last query.csv (fingerprint equal): query.csv kept')
    log.summary(`check: ${options.runs} runs, ${options.runs - options.perNight} settled, asked about ${options.perNight}`)
    const stateRows: { time: string; runnumber: number; tag: string; state: string }[] = []
    // The uploads of the runs that finished since the last night.
    const uploadRows: UploadRow[] = []
    for (const [k, r] of toUpload.entries()) {
      SEVEN_PAYLOAD_TYPES.forEach((type, t) => {
        const base = {
          runnumber: r.runnumber, tag: r.tag, type, globalTag: 'newcdbtag', checksum: md5Of(r.runnumber, t),
          url: `${type}/aa/bb/${md5Of(r.runnumber, t)}_${currentPayloadFile(type, r.tag, r.runnumber)}`,
        }
        const piov = 1_000_000 + r.runnumber * 10 + t
        uploadRows.push({ ...base, time: iso(at + 3600_000), state: 'uploading', piov: undefined, detail: `into payload list ${type}_newcdbtag` })
        if (k % 100 === 0 && t === 0) {
          uploadRows.push({ ...base, time: iso(at + 3600_001), state: 'failed', piov: undefined, detail: 'POST piov answered 400: {"detail": "payload list is locked"}' })
          uploadRows.push({ ...base, time: iso(at + 3600_002), state: 'uploading', piov: undefined, detail: `into payload list ${type}_newcdbtag` })
        }
        uploadRows.push({ ...base, time: iso(at + 3600_003), state: 'created', piov, detail: `piov ${piov} made, to attach to ${type}_newcdbtag` })
        uploadRows.push({ ...base, time: iso(at + 3600_004), state: 'uploaded', piov, detail: `piov ${piov} attached to ${type}_newcdbtag` })
      })
      stateRows.push({ time: iso(at + 7200_000), runnumber: r.runnumber, tag: r.tag, state: 'uploaded' })
      stateRows.push({ time: iso(at + 86_400_000 + 600_000), runnumber: r.runnumber, tag: r.tag, state: 'current' })
    }
    if (uploadRows.length) await appendUploads(uploadsPath, uploadRows)
    for (const r of toUpload) log.info(`upload: ${r.runnumber} ${r.tag}: ${SEVEN_PAYLOAD_TYPES.length} payloads inserted`)
    toUpload = []

    // Released for memory: the same cluster, one more attempt.
    const ledgerRows: LedgerRow[] = pendingRelease.map((r) => ({
      time: second(at), runnumber: r.runnumber, tag: r.tag, attempt: r.attempt + 1, state: 'released', cluster: r.cluster, proc: r.proc,
      schedd: DEFAULT_SCHEDD, memoryMb: 768, submission: r.submission, detail: 'held for memory (512 MB asked): released with 768 MB',
    }))
    if (ledgerRows.length) await appendLedger(ledgerPath, ledgerRows)
    for (const r of pendingRelease) toUpload.push(r)
    pendingRelease = []

    const busy = n % 4 === 0 || n === lastBusyNight
    let newRuns: { runnumber: number; tag: string; attempt: number }[] = []
    if (busy) {
      const campaign = Math.floor((busyCount * options.perNight) / options.runs)
      newRuns = Array.from({ length: options.perNight }, (_, i) => ({
        runnumber: runAt((busyCount * options.perNight + i) % options.runs), tag: tagOf(campaign), attempt: 1,
      }))
      busyCount++
    }
    const submit = [...pendingRetry, ...newRuns]
    pendingRetry = []
    if (submit.length === 0) {
      log.summary('submit: nothing to submit')
    } else {
      // condor's lists, then the frozen copy submit makes of them.
      const jobList = submit.map((r) => {
        const list = join(year, 'datasets', `${r.runnumber}_${r.tag}.list`)
        writeFileSync(list, listOf(r.runnumber, r.tag, options.segments))
        return { runnumber: r.runnumber, tag: r.tag, list }
      })
      const frozen = await freezeSubmission(year, jobList, now)
      cluster++
      const rows = (state: 'submitting' | 'submitted', t: number) => submit.map((r, proc): LedgerRow => ({
        time: second(t), runnumber: r.runnumber, tag: r.tag, attempt: r.attempt, state, cluster: state === 'submitted' ? cluster : undefined,
        proc: state === 'submitted' ? proc : undefined, schedd: DEFAULT_SCHEDD, memoryMb: 512, submission: frozen.name,
        detail: state === 'submitting' ? `condor_submit in submissions/${frozen.name}` : `${submit.length} job(s) submitted to cluster ${cluster}`,
      }))
      await appendLedger(ledgerPath, rows('submitting', at))
      await appendLedger(ledgerPath, rows('submitted', at + 1000))
      for (const line of formatSubmitLog(submit, frozen.name)) log.info(line)
      log.summary(`submit: ${submit.length} submitted to cluster ${cluster} (submissions/${frozen.name})`)
      for (const f of jobList) rmSync(f.list) // lists leaves only the process list's lists
      submit.forEach((r, proc) => {
        stateRows.push({ time: iso(at + 600_000), runnumber: r.runnumber, tag: r.tag, state: 'queued' })
        if (n === lastBusyNight) {
          lastBusy.push({ ...r, cluster, submission: frozen.name, at })
          return
        }
        const fails = r.attempt === 1 && proc % 10 === 3
        const held = !fails && proc % 50 === 7
        jobs.push({
          night: n, ClusterId: cluster, ProcId: proc, GlobalJobId: `${DEFAULT_SCHEDD}#${cluster}.${proc}#${Math.floor(at / 1000)}`,
          JobStatus: 4, ExitCode: fails ? 1 : 0, EnteredCurrentStatus: Math.floor((at + 5 * 3600_000) / 1000), RequestMemory: held ? 768 : 512,
          Iwd: frozen.dir, Cmd: 'genStatus.sh', Args: [], Arguments: '', CaloprodRunTag: `${r.runnumber}_${r.tag}`, CaloprodOutput: year,
        })
        if (fails) pendingRetry.push({ ...r, attempt: r.attempt + 1 })
        else if (held) pendingRelease.push({ ...r, cluster, proc, submission: frozen.name })
        else toUpload.push(r)
        if (!fails) writePayloads(year, r.runnumber, r.tag)
        stateRows.push({ time: iso(at + 86_400_000 - 600_000), runnumber: r.runnumber, tag: r.tag, state: fails ? 'failed' : held ? 'held' : 'done' })
      })
    }
    if (stateRows.length) await appendRows(statesPath, STATES_TABLE, stateRows)
    for (const stage of ['query', 'reduce', 'check', 'lists', 'condor', 'submit', 'report']) {
      await recordStageEnd(year, stage, { at: iso(at + 60_000), code: 0, line: `${stage}: done` }, stage === 'submit')
    }
    if (n % 30 === 0) say(`night ${n + 1} of ${options.nights}`)
  }

  // The night after the year: the last busy night's runs are the process list, their jobs in the queue or just done.
  const processRuns = lastBusy.map(({ runnumber, tag }) => ({ runnumber, tag }))
  const finalTag = lastBusy[0]!.tag
  const inFlight = lastBusy.map((r, proc): Job => {
    const status = proc % 6 === 0 ? 4 : proc % 20 === 1 ? 5 : proc % 3 === 0 ? 1 : 2
    return {
      ClusterId: r.cluster, ProcId: proc, GlobalJobId: `${DEFAULT_SCHEDD}#${r.cluster}.${proc}#${Math.floor(r.at / 1000)}`,
      JobStatus: status, ExitCode: status === 4 ? 0 : undefined, EnteredCurrentStatus: Math.floor((r.at + 3600_000) / 1000),
      HoldReason: status === 5 ? 'The job attribute PeriodicHold expression evaluated to TRUE' : undefined,
      RequestMemory: 512, Iwd: join(year, 'submissions', r.submission), Cmd: 'genStatus.sh', Args: [], Arguments: '',
      CaloprodRunTag: `${r.runnumber}_${r.tag}`, CaloprodOutput: year,
    }
  })
  for (const [proc, r] of lastBusy.entries()) if (proc % 6 === 0) writePayloads(year, r.runnumber, r.tag)
  // condor_history keeps about ten nights of a busy schedd's finished jobs.
  const kept = jobs.filter((job) => job.night >= options.nights - 10).map(({ night: _night, ...job }) => job)
  const yearState = join(root, 'year-condor.json')
  writeFileSync(yearState, JSON.stringify({ nextCluster: cluster + 1, jobs: [...kept, ...inFlight], calls: [] }))
  await currentFiles(year, options, processRuns, finalTag, end)
  await condor(year)

  // The fresh directory: the same current files, the last busy night alone in its ledger and its run states, no other
  // history.
  mkdirSync(join(fresh, 'log'), { recursive: true })
  await currentFiles(fresh, options, processRuns, finalTag, end)
  await condor(fresh)
  const at = lastBusy[0]!.at
  const frozen = await freezeSubmission(fresh, processRuns.map((r) => ({ ...r, list: join(fresh, 'datasets', `${r.runnumber}_${r.tag}.list`) })), new Date(at))
  const rows = (state: 'submitting' | 'submitted', t: number) => lastBusy.map((r, proc): LedgerRow => ({
    time: second(t), runnumber: r.runnumber, tag: r.tag, attempt: 1, state, cluster: state === 'submitted' ? r.cluster : undefined,
    proc: state === 'submitted' ? proc : undefined, schedd: DEFAULT_SCHEDD, memoryMb: 512, submission: frozen.name,
    detail: state === 'submitting' ? `condor_submit in submissions/${frozen.name}` : `${lastBusy.length} job(s) submitted to cluster ${r.cluster}`,
  }))
  await appendLedger(join(fresh, 'submissions.csv'), rows('submitting', at))
  await appendLedger(join(fresh, 'submissions.csv'), rows('submitted', at + 1000))
  // That night's report recorded its runs queued, as in the year's record: `status --since 1d` needs a record that old.
  await appendRows(join(fresh, 'log', 'run-states.csv'), STATES_TABLE,
    lastBusy.map((r) => ({ time: iso(at + 600_000), runnumber: r.runnumber, tag: r.tag, state: 'queued' })))
  for (const [proc, r] of lastBusy.entries()) if (proc % 6 === 0) writePayloads(fresh, r.runnumber, r.tag)
  for (const stage of ['query', 'reduce', 'check', 'lists', 'condor', 'submit', 'report']) {
    await recordStageEnd(fresh, stage, { at: iso(at + 60_000), code: 0, line: `${stage}: done` }, stage === 'submit')
  }
  const freshState = join(root, 'fresh-condor.json')
  writeFileSync(freshState, JSON.stringify({ nextCluster: cluster + 1, jobs: inFlight.map((job) => ({ ...job, CaloprodOutput: fresh, Iwd: job.Iwd.replace(year, fresh) })), calls: [] }))
  return { year: { output: year, condorState: yearState, processRuns }, fresh: { output: fresh, condorState: freshState, processRuns } }
}

/** The lines submit logs per run (its plan), so a day's log has a busy night's size. */
function formatSubmitLog(runs: readonly { runnumber: number; tag: string; attempt: number }[], submission: string): string[] {
  return runs.flatMap((r) => [
    `submit ${r.runnumber} ${r.tag}: ${r.attempt === 1 ? 'new: never submitted' : `retry ${r.attempt - 1} of 3 after a failure`}`,
    `ledger: run ${r.runnumber} ${r.tag} of ${submission}: submitting: condor_submit in submissions/${submission}`,
  ])
}
