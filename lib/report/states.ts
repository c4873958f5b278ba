// The report's state of each run of the run type, from what the check, the ledger and the scheduler say. The
// states and the rules that assign them are data: a stage that learns more about a run (upload: in the CDB, not
// yet checked again) adds a state to REPORT_STATES and a rule to STATE_RULES, and every part of the page follows.
import type { RunState } from '../scheduler/job-state.js'
import type { LedgerRow } from '../files/ledger.js'

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
type ReportState = (typeof REPORT_STATES)[number]

export const STATE_BY_NAME: ReadonlyMap<ReportStateName, ReportState> = new Map(REPORT_STATES.map((state) => [state.name, state]))

/** What is known of one run of the run type, for the rules. */
export interface RunFacts {
  runnumber: number
  tag: string
  /** In `<runtype>-process.csv`: a map is missing or outdated. */
  toProcess: boolean
  /** In the check's cache of settled runs with this tag: all payloads were current. */
  settled: boolean
  /** Its jobs, from the ledger and the scheduler; undefined when the scheduler did not answer. */
  job: RunState | undefined
  /** The last ledger row of the run and tag. */
  lastRow: LedgerRow | undefined
  /** Payloads of the run and tag the upload ledger has as uploaded (its latest row per type). */
  uploaded: number
  maxAttempts: number
}

/** A rule: the first whose test holds decides the state. */
interface StateRule {
  state: ReportStateName
  test: (run: RunFacts) => boolean
}

const STATE_RULES: readonly StateRule[] = [
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

/** The state of a run by the first rule that holds. */
export function classify(run: RunFacts, rules: readonly StateRule[] = STATE_RULES): ReportStateName {
  const rule = rules.find((r) => r.test(run))
  if (!rule) throw new Error(`no report state for run ${run.runnumber}: a rule is missing in STATE_RULES`)
  return rule.state
}
