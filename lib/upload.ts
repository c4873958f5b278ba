// The upload stage: the payloads of finished runs into the CDB, as nopayloadclient inserts them, planned first and
// never twice. Candidates are the runs of the process list whose latest job finished with exit 0 (as status sees
// them). Every insert is in the ledger uploads.csv before it starts, and the payload IOV's id as soon as the CDB
// made it; rows left open by a crash or a lost answer are settled by asking the CDB before anything is decided.
import type { Env } from './config/options.js'
import type { PayloadType } from './rules/calibrations.js'
import { HttpClient } from './cdb/http.js'
import { NOPAYLOADCLIENT_CONF, readNopayloadConfig } from './cdb/nopayload-config.js'
import { cdbRequestOver, globalTagStatus, payloadIovs, payloadLists, type CdbRequest } from './cdb/nopayload-write.js'
import type { PayloadIov } from './cdb/payload-iovs.js'
import { currentStates } from './scheduler/current-states.js'
import type { RunState } from './scheduler/job-state.js'
import { runTagKey } from './files/dataset-list.js'
import { readProcessList } from './files/process-list.js'
import { CaloprodError, UsageError } from './errors.js'
import { layout } from './files/layout.js'
import type { Log } from './log.js'
import { appendUploads, readUploadState, uploadKey, type UploadRow } from './upload/ledger.js'
import { insertRun } from './upload/insert.js'
import { firstAfter, insertedRow, withMine, type Inserted } from './upload/model.js'
import { insertionGroups } from './upload/order.js'
import { checkPayload, type PayloadCheck } from './upload/payload-files.js'
import { formatPlanLine, planRun, type PlanLine } from './upload/plan.js'
import { settle } from './upload/settle.js'
import { checkStore } from './upload/store.js'
import { lockStore } from './upload/store-lock.js'
import { detachedUploads } from './upload/unconfirmed.js'
import { plural } from './plural.js'

interface UploadOptions {
  output: string
  runType: string
  timeout: number
  globalTag: string | undefined
  doCdbUpload: boolean
}

/** Refuses to act without a global tag (UsageError): writing to a production tag must be a decision. */
export function checkUploadOptions(options: Pick<UploadOptions, 'doCdbUpload' | 'globalTag'>): void {
  if (options.doCdbUpload && !options.globalTag) {
    throw new UsageError('--do-cdb-upload needs --global-tag TAG: there is no default, writing to a production tag must be a decision')
  }
}

/**
 * Reads NOPAYLOADCLIENT_CONF (the server and the payload store) and opens the client; CALOPROD_CDB_TOKEN, when set,
 * is sent as a bearer token (the client keeps it out of every message). Acting (`needStore`) needs write_dir.
 */
export async function connectForUpload(env: Env, options: { timeout: number; needStore: boolean; log: Log }) {
  const token = env.CALOPROD_CDB_TOKEN || undefined
  // Anything but visible ASCII (a line break of a token file read whole, a tab, a space) would fail every request
  // as a network fault (Node refuses the header): refused here, the token itself never shown.
  if (token !== undefined && /[^\x21-\x7e]/.test(token)) {
    throw new UsageError('CALOPROD_CDB_TOKEN holds a line break, space or other character a bearer token cannot have; set it to the token alone (nothing was uploaded)')
  }
  const config = await readNopayloadConfig(env)
  if (!config) {
    throw new CaloprodError(
      `${NOPAYLOADCLIENT_CONF} is not set: upload talks to the CDB through nopayloaddb's REST API; ` +
        "point it at nopayloadclient's configuration file (base_url, api_res, write_dir)",
    )
  }
  const source = `${NOPAYLOADCLIENT_CONF}=${config.file}`
  if (options.needStore && !config.writeDir) {
    throw new CaloprodError(
      `${source} has no write_dir: inserting a payload copies it into that payload store; add write_dir to the file (nothing was uploaded)`,
    )
  }
  const onRetry = (message: string) => options.log.info(message)
  const timeoutMs = Math.min(options.timeout, 300) * 1000
  const client = new HttpClient({ server: config.apiUrl, token, timeoutMs, onRetry })
  return { request: cdbRequestOver(client, config.apiUrl), store: { writeDir: config.writeDir ?? '', source } }
}

/** `store`: write_dir and where it was configured; `readTag`: the tag the plan reads without --global-tag (check's). */
interface UploadContext {
  env: Env
  log: Log
  request: CdbRequest
  store: { writeDir: string; source: string }
  readTag: string
  types: readonly PayloadType[]
}

/** A run beyond every real one: `payloadiovs` there answers the latest IOV of each type. */
const LAST_RUN = Number.MAX_SAFE_INTEGER

const checkType = (check: PayloadCheck) => (check.ok ? check.file.type : check.problem.type)

/**
 * Plans (default, writing nothing) or carries out (`doCdbUpload`, needs `globalTag`) the upload of every finished
 * run's payloads. Acting stops at once on what concerns every insert (no such tag, a locked one, the store, refused
 * credentials, a lost answer) and goes on past a refusal of one payload, which then fails the stage. `lines` go to
 * stdout: the plan, or the runs left incomplete and a summary (a failure throws, with the summary).
 */
export async function runUpload(options: UploadOptions, ctx: UploadContext): Promise<{ lines: string[] }> {
  checkUploadOptions(options)
  const ledgerPath = layout.uploadsCsv(options.output)
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  // The payload IOVs rows name, and the latest row of each payload of the process list's runs and of every payload
  // still unsettled: a year of the ledger is not kept whole, nor its other campaigns' payloads.
  const listed = new Set(entries.map((entry) => runTagKey(entry.runnumber, entry.tag)))
  const ledger = await readUploadState(ledgerPath, (row) => listed.has(runTagKey(row.runnumber, row.tag)))
  const { states } = await currentStates(options.output, entries, { env: ctx.env, timeout: options.timeout })
  const runs = states.filter((state) => state.state === 'done')
  if (!options.doCdbUpload) return planOrInsert(options, ctx, { ledgerPath, ledger, runs })
  await checkStore(ctx.store.writeDir, ctx.store.source)
  // From the first read of the CDB that an insert follows to the last insert: another upload's inserts in between
  // would make this one's plan wrong (lib/upload/store-lock.ts).
  const releaseStore = await lockStore(ctx.store.writeDir, options.output, ctx.log)
  try {
    return await planOrInsert(options, ctx, { ledgerPath, ledger, runs })
  } finally {
    await releaseStore()
  }
}

/** What runUpload read of this output directory: its upload ledger and the runs whose jobs finished. */
type UploadStart = { ledgerPath: string; ledger: Awaited<ReturnType<typeof readUploadState>>; runs: RunState[] }

/** The settling of rows left open, then the plan or the inserts, run by run (runUpload). */
async function planOrInsert(options: UploadOptions, ctx: UploadContext, { ledgerPath, ledger, runs }: UploadStart): Promise<{ lines: string[] }> {
  const { log, request } = ctx
  const globalTag = options.globalTag ?? ctx.readTag
  const settled = await settle(ledger, request, options.doCdbUpload ? ctx.store.writeDir : undefined)
  if (options.doCdbUpload && settled.length > 0) {
    if (await appendUploads(ledgerPath, settled)) log.warn(`${ledgerPath}: cut off an incomplete last line`)
    for (const row of settled) log.info(`${row.runnumber} ${row.tag} ${row.type}: ${row.state}: ${row.detail}`)
  }
  if (runs.length === 0) return { lines: [`upload: no finished run in the process list; nothing to upload into ${globalTag}`] }

  const status = await globalTagStatus(request, globalTag)
  if (status === undefined) {
    throw new CaloprodError(`global tag ${globalTag} does not exist in the CDB; check --global-tag (nothing was uploaded)`)
  }
  // nopayloaddb refuses or fails every insert into a frozen tag, and into a locked one every insert that has an IOV before it.
  const locked = status === 'locked' || status === 'frozen'
  if (locked && options.doCdbUpload) {
    throw new CaloprodError(`global tag ${globalTag} is ${status} in the CDB: it takes no new payloads; nothing was uploaded`)
  }
  const lists = await payloadLists(request, globalTag)
  // latestUploads of the ledger's rows and then the settling ones: each settles a payload the ledger already has.
  const latest = new Map(ledger.latest)
  for (const row of settled) latest.set(uploadKey(row), row)
  const plan: PlanLine[] = []
  const incomplete: string[] = []
  const failures: string[] = []
  const mine: Inserted[] = []
  const view = async (at: number) => withMine(await payloadIovs(request, globalTag, at), at, mine)
  const checked = new Map<(typeof runs)[number], PayloadCheck[]>()
  const checksOf = async (run: (typeof runs)[number]) => {
    if (!checked.has(run)) checked.set(run, await Promise.all(ctx.types.map((type) => checkPayload(options.output, run.runnumber, run.tag, type))))
    return checked.get(run)!
  }
  // Each group of types in its own order; a run's types are planned and inserted group by group.
  for (const group of insertionGroups(runs, ctx.types, await payloadIovs(request, globalTag, LAST_RUN))) {
    for (const run of group.runs) {
      const all = await checksOf(run)
      const checks = all.filter((check) => group.types.includes(checkType(check)))
      const around = [run.runnumber, run.runnumber - 1, run.runnumber + 1, LAST_RUN]
      const [cdb, before, after, last] = await Promise.all(around.map(view))
      const detached = await detachedUploads(request, { ...run, checks, cdb }, globalTag, latest)
      const lines = planRun({ ...run, checks, cdb, before, after, last, detached }, globalTag, lists, latest)
      for (const line of lines.filter((l) => l.moves)) {
        line.moved = await firstAfter(view, line.type, run.runnumber, last.find((row) => row.type === line.type))
      }
      plan.push(...lines)
      // A file that is there but unusable stops the whole run: the group that holds it reports it (insertRun).
      const broken = all.find((check) => !check.ok && check.problem.reason !== 'missing')
      if (broken && !checks.includes(broken)) continue
      if (options.doCdbUpload) failures.push(...(await insertRun(lines, { ...ctx, globalTag, lists, ledgerPath, latest }, mine)))
      // The plan sees the inserts it plans, as the act sees those it made.
      else if (!broken) mine.push(...lines.filter((l) => l.action === 'insert').map(insertedRow))
    }
  }
  plan.sort((a, b) => a.runnumber - b.runnumber || ctx.types.indexOf(a.type) - ctx.types.indexOf(b.type))
  for (const run of [...runs].sort((a, b) => a.runnumber - b.runnumber)) {
    const absent = (await checksOf(run)).filter((c) => !c.ok && c.problem.reason === 'missing').map(checkType)
    const gap = `genStatus wrote no payload for ${absent.join(', ')}; the run stays in the process list`
    if (absent.length) incomplete.push(`${run.runnumber} ${run.tag} incomplete: ${gap}`)
  }
  const count = (action: PlanLine['action']) => plan.filter((l) => l.action === action).length
  const tail = `${count('skip')} skipped, ${count('not')} not insertable, ${plural(incomplete.length, 'run')} incomplete`
  if (!options.doCdbUpload) {
    const tagNote = options.globalTag ? '' : ` (the tag check reads; --do-cdb-upload needs --global-tag)`
    const lockNote = locked ? `; the tag is ${status}: --do-cdb-upload would insert nothing` : ''
    const summary = `upload: plan for ${plural(runs.length, 'finished run')} into ${globalTag}${tagNote}: ${count('insert')} to insert, ${tail}`
    return { lines: [...plan.map(formatPlanLine), ...incomplete, summary + lockNote] }
  }
  for (const gap of incomplete) log.warn(gap)
  const done = `${plural(mine.length, 'payload')} inserted into ${globalTag} from ${plural(runs.length, 'finished run')}`
  const summary = `upload: ${done}, ${failures.length} failed, ${tail}`
  if (failures.length > 0) throw new CaloprodError(`${summary}; first failure: ${failures[0]}`)
  return { lines: [...incomplete, summary] }
}
