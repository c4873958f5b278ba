// One view per run of the run type: its state by the rules below, and what the table shows of it. States and rules
// are data: a stage that learns more about a run adds a state to REPORT_STATES and a rule to STATE_RULES, and the
// page follows. Last, the runs that need a person: nothing more will happen to them without one.
import { byRunTag, reconcile, runStates, writtenSinceRead, type RunState } from '../scheduler/job-state.js'
import { runTagKey } from '../files/dataset-list.js'
import type { LedgerRow } from '../files/ledger.js'
import { describeState, lastCheck, uploadVerdict } from '../status.js'
import { decideHeld } from '../scheduler/memory-hold.js'
import type { ReportInputs } from './gather.js'
import { latestUploads } from '../upload/ledger.js'
import { utcMinute } from './utc-minute.js'
import { plural } from '../plural.js'

/** Every state a run can be in on the page, in the order the page lists them, with its words and colour. */
export const REPORT_STATES = [
  { name: 'current', label: 'current in the CDB', colour: '#1a9850', always: true },
  { name: 'needs-maps', label: 'needs maps', colour: '#fdae61', always: true },
  { name: 'queued', label: 'queued', colour: '#92c5de', always: true },
  { name: 'running', label: 'running', colour: '#2166ac', always: true },
  { name: 'held', label: 'held', colour: '#d73027', always: true },
  { name: 'unknown', label: 'unknown: no schedd knows its job', colour: '#bf812d', always: false },
  { name: 'done', label: 'done, not yet in the CDB', colour: '#a6d96a', always: true },
  { name: 'uploaded', label: 'uploaded, awaiting the next check', colour: '#66bd63', always: false },
  { name: 'failed', label: 'failed, to be retried', colour: '#f46d43', always: true },
  { name: 'given-up', label: 'failed, given up', colour: '#762a83', always: true },
  { name: 'submitted', label: 'submitted, no word from the scheduler', colour: '#878787', always: false },
  { name: 'unchecked', label: 'not yet checked in the CDB', colour: '#d9d9d9', always: false },
] as const

export type ReportStateName = (typeof REPORT_STATES)[number]['name']

export const STATE_BY_NAME = new Map(REPORT_STATES.map((state) => [state.name as ReportStateName, state]))

/**
 * What the rules know of a run. `toProcess`: a map is missing or outdated; `settled`: all current for this tag;
 * `job`: undefined when the scheduler did not answer; `uploaded`: payloads the upload ledger has as uploaded.
 */
type RunFacts = { runnumber: number; tag: string; toProcess: boolean; settled: boolean; job: RunState | undefined }
  & { lastRow: LedgerRow | undefined; uploaded: number; maxAttempts: number }

/** The first rule whose test holds decides the state. */
const STATE_RULES: readonly { state: ReportStateName; test: (run: RunFacts) => boolean }[] = [
  { state: 'current', test: (r) => !r.toProcess && r.settled },
  // In the run list, neither to process nor settled: the check has not run since the run (or its tag) appeared.
  { state: 'unchecked', test: (r) => !r.toProcess },
  {
    state: 'submitted',
    test: (r) => r.job === undefined && r.lastRow !== undefined && r.lastRow.state !== 'failed' && r.lastRow.state !== 'lost',
  },
  { state: 'needs-maps', test: (r) => r.job === undefined || r.job.state === 'new' },
  { state: 'queued', test: (r) => r.job?.state === 'queued' },
  { state: 'running', test: (r) => r.job?.state === 'running' },
  { state: 'held', test: (r) => r.job?.state === 'held' },
  { state: 'unknown', test: (r) => r.job?.state === 'unknown' },
  { state: 'uploaded', test: (r) => r.job?.state === 'done' && r.uploaded > 0 },
  { state: 'done', test: (r) => r.job?.state === 'done' },
  { state: 'given-up', test: (r) => r.job?.state === 'failed' && r.job.attempts >= r.maxAttempts },
  { state: 'failed', test: (r) => r.job?.state === 'failed' },
]

/** The rows that settle the ledger's interrupted submissions as the scheduler's jobs settle them (status does the same). */
function reconciledRows(inputs: ReportInputs): LedgerRow[] {
  if (!inputs.scheduler.answered) return []
  return reconcile(inputs.ledger, inputs.scheduler.jobs, inputs.now.toISOString(), {
    inFlight: inputs.inFlight, unanswered: inputs.scheduler.unanswered,
  })
}

function detailOf(state: ReportStateName, facts: RunFacts, hasList: boolean, inputs: ReportInputs): string {
  if (state === 'current') {
    return `all payloads current for ${facts.tag} (checked ${inputs.settled.get(facts.runnumber)?.checked_at ?? '?'})`
  }
  if (state === 'unchecked') return 'in the run list, not yet asked about in the CDB (run the check stage)'
  if (state === 'submitted') {
    const row = facts.lastRow!
    const job =
      row.cluster === undefined ? `submission ${row.submission} ${row.state}` : `cluster ${row.cluster} (submission ${row.submission})`
    return `${job} at ${row.time}; the scheduler did not answer, so what became of it is not known`
  }
  if (state === 'uploaded') {
    return `${facts.uploaded} payload${facts.uploaded === 1 ? '' : 's'} uploaded to the CDB, awaiting the next check; ` +
      describeState(facts.job!, hasList, inputs.options.maxAttempts)
  }
  if (!facts.job) return hasList ? 'not submitted yet' : "not submitted yet; no list in datasets/ (see the lists stage's log)"
  return describeState(facts.job, hasList, inputs.options.maxAttempts)
}

/** Every run of the run list (and of the process list, should it hold others), by run, with its tag. */
function pageRuns(inputs: ReportInputs): Map<number, string> {
  const universe = new Map<number, string>()
  for (const run of inputs.runList ?? []) universe.set(run.runnumber, run.tag)
  for (const run of inputs.process ?? []) if (!universe.has(run.runnumber)) universe.set(run.runnumber, run.tag)
  return universe
}

/**
 * The job state of each run of the page (pageRuns), by `<run>_<tag>`, as the ledger with its interrupted submissions
 * settled (`reconciled`, appended to it in `ledger`) and the scheduler's jobs say, before its folder is looked at
 * (writtenSince): the page's rows, its nights plot and why's stories of the runs to process tell from these, worked
 * out once (lib/report.ts). `states` undefined: the scheduler did not answer (then nothing is settled).
 */
export function jobStates(inputs: ReportInputs): {
  reconciled: LedgerRow[]; ledger: LedgerRow[]; states: ReadonlyMap<string, RunState> | undefined
} {
  const reconciled = reconciledRows(inputs)
  const ledger = [...inputs.ledger, ...reconciled]
  if (!inputs.scheduler.answered) return { reconciled, ledger, states: undefined }
  const { jobs, unanswered } = inputs.scheduler
  const runs = [...pageRuns(inputs)].map(([runnumber, tag]) => ({ runnumber, tag }))
  const states = runStates(runs, ledger, jobs, { unanswered, inFlight: inputs.inFlight })
  return { reconciled, ledger, states: new Map(states.map((state) => [runTagKey(state.runnumber, state.tag), state])) }
}

/** Every run of the run list (and of the process list, should it hold others), by run; `known`: their jobStates. */
export function runViews(inputs: ReportInputs, known = jobStates(inputs)) {
  const universe = pageRuns(inputs)
  // By run and tag: a run whose newer tag reduce kept after the check last ran is still in the process list under its
  // old tag, and the newer tag has not been asked about yet (unchecked), as status and why see it.
  const toProcess = new Set((inputs.process ?? []).map((run) => runTagKey(run.runnumber, run.tag)))
  const rows = byRunTag(known.ledger, (row) => runTagKey(row.runnumber, row.tag))
  // Only the runs to process have their uploads here (shownUploads), the only runs whose state reads them (see STATE_RULES).
  const uploads = byRunTag([...latestUploads(inputs.uploads).values()], (row) => runTagKey(row.runnumber, row.tag))
  const checkedAt = lastCheck(inputs.lastNight)
  const { maxAttempts, maxMemory = 4, memoryScale = 1.5, rules } = inputs.options

  return [...universe].sort(([a], [b]) => a - b).map(([runnumber, tag]) => {
    const key = runTagKey(runnumber, tag)
    const mine = rows.get(key) ?? []
    // A job no schedd knows any more that wrote its folder is done, as status says (writtenSince).
    const told = known.states?.get(key)
    const job = told && (writtenSinceRead(told, inputs.folders) ?? told)
    const settled = inputs.settled.get(runnumber)
    const written = rules.payloadTypes.filter((type) => !(inputs.absent.get(runnumber) ?? []).includes(type))
    const verdict = uploadVerdict(uploads.get(key) ?? [], written, checkedAt, inputs.uploading)
    const facts: RunFacts = {
      runnumber, tag, toProcess: toProcess.has(key), settled: settled !== undefined && settled.tag === tag, job,
      lastRow: mine.at(-1), uploaded: verdict.uploaded, maxAttempts,
    }
    const state = STATE_RULES.find((rule) => rule.test(facts))?.state
    if (!state) throw new Error(`no report state for run ${runnumber}: a rule is missing in STATE_RULES`)
    const hasList = inputs.lists.has(`${key}.list`)
    const files = inputs.runFiles.get(runnumber)
    const sameTag = files && files.tag === tag ? files : undefined
    const latest = job?.job
    const absent = state === 'done' || state === 'uploaded' ? (inputs.absent.get(runnumber) ?? []) : []
    const held = job && state === 'held'
      ? decideHeld(job, { maxAttempts, maxMemoryMb: Math.round(maxMemory * 1024), scale: memoryScale, submittedMb: undefined })
      : undefined
    return {
      runnumber,
      tag,
      state,
      /** The state in words (as status says it for runs of the process list). */
      detail:
        (state === 'done' && verdict.note ? `${verdict.note}; ` : '') +
        detailOf(state, facts, hasList, inputs) + (held?.release ? `; next night: ${held.note}` : '') +
        (absent.length ? `; incomplete: genStatus wrote no ${absent.join(', ')}` : ''),
      attempts: job?.attempts ?? new Set(mine.filter((r) => r.cluster !== undefined).map((r) => r.cluster)).size,
      /** From reduce.csv; undefined when it does not have the run. */
      events: sameTag?.events,
      files: sameTag?.files,
      missing: sameTag?.missing,
      toProcess: facts.toProcess,
      hasList,
      /** The latest job, `cluster.proc`, and when it entered its state (or the ledger's last word, ISO time). */
      lastJob: latest ? `${latest.cluster}.${latest.proc}`
        : facts.lastRow?.cluster !== undefined ? `${facts.lastRow.cluster}.${facts.lastRow.proc ?? 0}` : undefined,
      lastWhen: (latest?.since === undefined ? undefined : new Date(latest.since * 1000).toISOString()) ?? facts.lastRow?.time,
      holdReason: state === 'held' ? (latest?.holdReason ?? 'no reason given') : undefined,
      /** Held for memory and within its attempts and --max-memory: the next submit releases it with more. */
      releasing: held?.release ?? false,
      /** A finished run's payload types genStatus wrote no file for: the CDB will still lack them. */
      absent,
      /** A finished run's upload that stopped short of the CDB, no upload running now (uploadVerdict): its note. */
      uploadUnfinished: state === 'done' && verdict.unfinished ? verdict.note : undefined,
      /** A finished run whose payloads are all in the CDB, which a check since still found missing or outdated. */
      uploadedNotCurrent: state === 'done' && verdict.notCurrent ? verdict.note : undefined,
    }
  })
}

export type RunView = ReturnType<typeof runViews>[number]

/** `2 of 84 files missing`, of a run with missing files; `its files` where reduce.csv does not count them. */
export const missingFilesText = (run: RunView) =>
  `${run.missing} of ${run.files === undefined ? 'its files' : plural(run.files, 'file')} missing`

/** Done for longer than this and still not in the CDB: nobody has put its maps in. */
const DONE_TOO_LONG_S = 86400

/**
 * Held runs (with the reason; not one held for memory that the next submit releases with more), runs given up,
 * finished runs whose upload stopped short of the CDB (refused, interrupted; not while an upload runs), runs done but
 * not in the CDB for more than a day, finished runs with payload types genStatus wrote no file for,
 * runs to process without a list (with their missing files, the usual reason). Missing files alone are routine (the
 * lists stage lists what is on disk): not here. One row per run, its reasons (what is wrong, in a few words; what the
 * page knows about it) joined; newest run first.
 */
export function needsAPerson(runs: readonly RunView[], now: Date) {
  return [...runs].reverse().flatMap((run) => {
    const reasons: [what: string, detail: string][] = []
    if (run.state === 'held' && !run.releasing) reasons.push(['held', `${run.holdReason}; job ${run.lastJob}`])
    if (run.state === 'given-up') reasons.push(['given up', run.detail])
    // Tried, and not every payload in: nothing puts the rest in (no stage uploads by itself) until a person has read
    // the CDB's words and run upload again. Said instead of "done, not in the CDB", which it is too.
    if (run.uploadUnfinished) reasons.push(['upload unfinished', run.uploadUnfinished])
    // In the CDB, and the check still asks for it: no night changes that (the tag, or files nopayloadclient cannot read).
    else if (run.uploadedNotCurrent) reasons.push(['uploaded, not current', run.uploadedNotCurrent])
    else if (run.state === 'done' && run.lastWhen && (now.getTime() - Date.parse(run.lastWhen)) / 1000 > DONE_TOO_LONG_S) {
      const at = utcMinute(run.lastWhen)
      const where = `output/${run.runnumber}_${run.tag}/`
      reasons.push(['done, not in the CDB', `job ${run.lastJob} finished at ${at}, over a day ago; its maps wait in ${where}`])
    }
    if (run.absent.length) {
      reasons.push(['incomplete', `genStatus wrote no ${run.absent.join(', ')}: the CDB will lack them (empty histograms?)`])
    }
    if (run.state === 'needs-maps' && !run.hasList) {
      const missing = run.missing ? ` (${missingFilesText(run)} on disk, see the missing-files list)` : ''
      const detail = `no list in datasets/: too few events on disk${missing}, or lists has not run (see the lists stage's log)`
      reasons.push(['no list', detail])
    }
    if (reasons.length === 0) return []
    const [what, detail] = [reasons.map((r) => r[0]).join(', '), reasons.map((r) => r[1]).join('; ')]
    return [{ runnumber: run.runnumber, tag: run.tag, what, detail }]
  })
}

export type AttentionItem = ReturnType<typeof needsAPerson>[number]
