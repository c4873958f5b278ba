// One view per run of the run type: its state by the rules of states.ts, and what the table shows of it.
import { byRunTag, reconcile, runState, type RunState } from '../scheduler/job-state.js'
import { runTagKey } from '../files/dataset-list.js'
import type { SchedulerJob } from '../scheduler/scheduler.js'
import type { LedgerRow } from '../files/ledger.js'
import { describeState, lastCheck, uploadVerdict } from '../status.js'
import { decideHeld } from '../scheduler/memory-hold.js'
import type { ReportInputs } from './gather.js'
import { latestUploads } from '../upload/ledger.js'
import { classify, type ReportStateName, type RunFacts } from './states.js'

export interface RunView {
  runnumber: number
  tag: string
  state: ReportStateName
  /** The state in words (as status says it for runs of the process list). */
  detail: string
  attempts: number
  /** From reduce.csv; undefined when it does not have the run. */
  events: number | undefined
  files: number | undefined
  missing: number | undefined
  toProcess: boolean
  hasList: boolean
  /** The latest job, `cluster.proc`, and when it entered its state (or the ledger's last word, ISO time). */
  lastJob: string | undefined
  lastWhen: string | undefined
  holdReason: string | undefined
  /** Held for memory and within its attempts and --max-memory: the next submit releases it with more. */
  releasing: boolean
  /** A finished run's payload types genStatus wrote no file for: the CDB will still lack them. */
  absent: readonly string[]
}

const isoOfEpoch = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString())

/** The ledger with every interrupted submission settled as the scheduler's jobs settle it (status does the same). */
export function settledLedger(inputs: ReportInputs): LedgerRow[] {
  if (!inputs.scheduler.answered) return inputs.ledger
  return [...inputs.ledger, ...reconcile(inputs.ledger, inputs.scheduler.jobs, inputs.now.toISOString())]
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
    return (
      `${facts.uploaded} payload${facts.uploaded === 1 ? '' : 's'} uploaded to the CDB, awaiting the next check; ` +
      describeState(facts.job!, hasList, inputs.options.maxAttempts)
    )
  }
  if (!facts.job) return hasList ? 'not submitted yet' : "not submitted yet; no list in datasets/ (see the lists stage's log)"
  return describeState(facts.job, hasList, inputs.options.maxAttempts)
}

/** Every run of the run list (and of the process list, should it hold others), by run. */
export function runViews(inputs: ReportInputs): RunView[] {
  const universe = new Map<number, string>()
  for (const run of inputs.runList ?? []) universe.set(run.runnumber, run.tag)
  for (const run of inputs.process ?? []) if (!universe.has(run.runnumber)) universe.set(run.runnumber, run.tag)
  const toProcess = new Set((inputs.process ?? []).map((run) => run.runnumber))
  const rows = byRunTag(settledLedger(inputs), (row) => runTagKey(row.runnumber, row.tag))
  const uploads = byRunTag([...latestUploads(inputs.uploads).values()], (row) => runTagKey(row.runnumber, row.tag))
  const types = inputs.options.rules.payloadTypes
  const checkedAt = lastCheck(inputs.lastNight)
  const jobs: Map<string, SchedulerJob[]> | undefined = inputs.scheduler.answered
    ? byRunTag(inputs.scheduler.jobs, (job) => job.runTag)
    : undefined

  return [...universe].sort(([a], [b]) => a - b).map(([runnumber, tag]) => {
    const key = runTagKey(runnumber, tag)
    const mine = rows.get(key) ?? []
    const job: RunState | undefined = jobs && runState(runnumber, tag, mine, jobs.get(key) ?? [])
    const settled = inputs.settled.get(runnumber)
    const written = types.filter((type) => !(inputs.absent.get(runnumber) ?? []).includes(type))
    const verdict = uploadVerdict(uploads.get(key) ?? [], written, checkedAt)
    const facts: RunFacts = {
      runnumber,
      tag,
      toProcess: toProcess.has(runnumber),
      settled: settled !== undefined && settled.tag === tag,
      job,
      lastRow: mine.at(-1),
      uploaded: verdict.uploaded,
      maxAttempts: inputs.options.maxAttempts,
    }
    const state = classify(facts)
    const hasList = inputs.lists.has(`${key}.list`)
    const files = inputs.runFiles.get(runnumber)
    const sameTag = files && files.tag === tag ? files : undefined
    const latest = job?.job
    const finished = state === 'done' || state === 'uploaded'
    const absent = finished ? (inputs.absent.get(runnumber) ?? []) : []
    const { maxAttempts, maxMemory = 4, memoryScale = 1.5 } = inputs.options
    const held = job && state === 'held'
      ? decideHeld(job, { maxAttempts, maxMemoryMb: Math.round(maxMemory * 1024), scale: memoryScale, submittedMb: undefined })
      : undefined
    return {
      runnumber,
      tag,
      state,
      detail:
        (state === 'done' && verdict.note ? `${verdict.note}; ` : '') +
        detailOf(state, facts, hasList, inputs) + (held?.release ? `; next night: ${held.note}` : '') +
        (absent.length ? `; incomplete: genStatus wrote no ${absent.join(', ')}` : ''),
      attempts: job?.attempts ?? new Set(mine.filter((r) => r.cluster !== undefined).map((r) => r.cluster)).size,
      events: sameTag?.events,
      files: sameTag?.files,
      missing: sameTag?.missing,
      toProcess: facts.toProcess,
      hasList,
      lastJob: latest
        ? `${latest.cluster}.${latest.proc}`
        : facts.lastRow?.cluster !== undefined
          ? `${facts.lastRow.cluster}.${facts.lastRow.proc ?? 0}`
          : undefined,
      lastWhen: (latest && isoOfEpoch(latest.since)) ?? facts.lastRow?.time,
      holdReason: state === 'held' ? (latest?.holdReason ?? 'no reason given') : undefined,
      releasing: held?.release ?? false,
      absent,
    }
  })
}
