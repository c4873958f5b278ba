// The upload stage: the payloads of finished runs into the CDB, as nopayloadclient inserts them, planned first and
// never twice. Candidates are the runs of the process list whose latest job finished with exit 0 (as status sees
// them). Every insert is in the ledger uploads.csv before it starts; an `uploading` row left by a crash is settled
// by asking the CDB whether it holds the payload's checksum for the run, before anything is decided.
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Env } from './config/options.js'
import { SEVEN_PAYLOAD_TYPES, type PayloadType } from './config/calibrations.js'
import {
  attachPayloadIov,
  CdbRefusal,
  createPayloadIov,
  globalTagExists,
  payloadIovs,
  payloadLists,
  type CdbRequest,
} from './cdb/nopayload-write.js'
import type { PayloadIov } from './cdb/payload-iovs.js'
import { currentStates } from './scheduler/current-states.js'
import { readProcessList } from './files/process-list.js'
import { CaloprodError, UsageError } from './errors.js'
import { sweepStaleTemps, tempPathFor } from './files/atomic.js'
import { layout } from './files/layout.js'
import type { Log } from './log.js'
import { appendUploads, latestUploads, readUploads, type UploadRow } from './upload/ledger.js'
import { findPayloads } from './upload/payload-files.js'
import { cdbHolds, formatPlanLine, planRun, type PlanLine } from './upload/plan.js'
import { checkStore, copyIntoStore } from './upload/store.js'

export interface UploadOptions {
  output: string
  runType: string
  timeout: number
  /** The global tag to insert into; required to act. */
  globalTag: string | undefined
  doCdbUpload: boolean
}

/** Refuses to act without a global tag (UsageError): writing to a production tag must be a decision. */
export function checkUploadOptions(options: Pick<UploadOptions, 'doCdbUpload' | 'globalTag'>): void {
  if (options.doCdbUpload && !options.globalTag) {
    throw new UsageError('--do-cdb-upload needs --global-tag TAG: there is no default, writing to a production tag must be a decision')
  }
}

/** The steps of one insert, for tests that kill the stage between them. */
export type UploadStep = 'copied' | 'posted' | 'attached'

export interface UploadContext {
  env: Env
  log: Log
  /** The CDB's API (lib/cdb/http.ts through NOPAYLOADCLIENT_CONF). */
  request: CdbRequest
  /** The payload store (write_dir) and where it was configured, for messages. */
  store: { writeDir: string; source: string }
  /** The global tag the plan reads when none is given (the one check asks). */
  readTag: string
  /** Payload types of the rule set (options.rules.payloadTypes). @default the seven of the seed */
  types?: readonly PayloadType[]
  onStep?: (step: UploadStep) => void
}

export interface UploadResult {
  lines: string[]
  /** Payloads the CDB refused or that could not be inserted (exit 1 when any). */
  failed: number
}

const now = () => new Date().toISOString()

/** The ledger rows that settle `uploading` rows (a crash mid-insert) by what the CDB holds for their run. */
async function settle(rows: readonly UploadRow[], request: CdbRequest, writeDir: string | undefined): Promise<UploadRow[]> {
  const open = [...latestUploads(rows).values()].filter((row) => row.state === 'uploading')
  const views = new Map<string, PayloadIov[]>()
  const settled: UploadRow[] = []
  for (const row of open) {
    const key = `${row.globalTag}\0${row.runnumber}`
    if (!views.has(key)) views.set(key, await payloadIovs(request, row.globalTag, row.runnumber))
    // A copy killed before its rename leaves a hidden temporary file: remove it, so the store holds no partial file.
    if (writeDir) await sweepStaleTemps(join(writeDir, row.url, '..'))
    const held = cdbHolds(views.get(key)!, row.type, row.runnumber, row.checksum)
    settled.push({
      ...row,
      time: now(),
      state: held ? 'uploaded' : 'failed',
      detail: held
        ? 'settled: an interrupted upload; the CDB holds this checksum for the run'
        : 'settled: an interrupted upload that never reached the global tag ' +
          '(a payload IOV made but not attached stays detached); will be tried again',
    })
  }
  return settled
}

/** The finished runs of the process list: their latest job exited 0. */
async function finishedRuns(options: UploadOptions, env: Env): Promise<{ runnumber: number; tag: string }[]> {
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  const { states } = await currentStates(options.output, entries, { env, timeout: options.timeout })
  return states.filter((state) => state.state === 'done')
}

function incompleteLine(runnumber: number, tag: string, lines: readonly PlanLine[]): string | undefined {
  const absent = lines.filter((l) => l.problem === 'missing').map((l) => l.type)
  if (absent.length === 0) return undefined
  return `${runnumber} ${tag} incomplete: genStatus wrote no payload for ${absent.join(', ')}; the run stays in the process list`
}

/**
 * Plans (default) or carries out (`doCdbUpload`) the upload of every finished run's payloads. The plan writes
 * nothing. Acting needs `globalTag`; it stops at once, with one line, on what concerns every insert (the tag does
 * not exist, the store is missing or not writable, the CDB refuses the credentials) and goes on past a refusal of
 * one payload (a conflicting IOV in a locked tag), which then makes the stage fail.
 */
export async function runUpload(options: UploadOptions, ctx: UploadContext): Promise<UploadResult> {
  const { log, request } = ctx
  checkUploadOptions(options)
  const globalTag = options.globalTag ?? ctx.readTag
  const ledgerPath = layout.uploadsCsv(options.output)
  const ledger = await readUploads(ledgerPath)
  const runs = await finishedRuns(options, ctx.env)
  if (options.doCdbUpload) await checkWritableStore(ctx.store)
  const interrupted = ledger.rows.some((r) => r.state === 'uploading')
  const settled = interrupted ? await settle(ledger.rows, request, options.doCdbUpload ? ctx.store.writeDir : undefined) : []
  const rows = [...ledger.rows, ...settled]
  if (options.doCdbUpload && settled.length > 0) {
    if (await appendUploads(ledgerPath, settled)) log.warn(`${ledgerPath}: cut off an incomplete last line`)
    for (const row of settled) log.info(`${row.runnumber} ${row.tag} ${row.type}: ${row.state}: ${row.detail}`)
  }
  if (runs.length === 0) return { lines: [`upload: no finished run in the process list; nothing to upload into ${globalTag}`], failed: 0 }

  if (!(await globalTagExists(request, globalTag))) {
    throw new CaloprodError(`global tag ${globalTag} does not exist in the CDB; check --global-tag (nothing was uploaded)`)
  }
  const lists = await payloadLists(request, globalTag)
  const plan: PlanLine[] = []
  const incomplete: string[] = []
  for (const run of runs) {
    const checks = await findPayloads(options.output, run.runnumber, run.tag, ctx.types ?? SEVEN_PAYLOAD_TYPES)
    const lines = planRun({ ...run, checks, cdb: await payloadIovs(request, globalTag, run.runnumber) }, globalTag, lists, rows)
    plan.push(...lines)
    const gap = incompleteLine(run.runnumber, run.tag, lines)
    if (gap) incomplete.push(gap)
  }
  const count = (action: PlanLine['action']) => plan.filter((l) => l.action === action).length
  const tail = `${count('skip')} skipped, ${count('not')} not insertable, ${incomplete.length} runs incomplete`
  if (!options.doCdbUpload) {
    const tagNote = options.globalTag ? '' : ` (the tag check reads; --do-cdb-upload needs --global-tag)`
    return {
      lines: [
        ...plan.map(formatPlanLine),
        ...incomplete,
        `upload: plan for ${runs.length} finished runs into ${globalTag}${tagNote}: ${count('insert')} to insert, ${tail}`,
      ],
      failed: 0,
    }
  }

  let inserted = 0
  let failed = 0
  let firstFailure: string | undefined
  // A file that is there but unusable (empty, not ROOT) needs a person: none of its run's payloads go in.
  const broken = new Map<number, PlanLine>()
  for (const line of plan) if (line.problem && line.problem !== 'missing' && !broken.has(line.runnumber)) broken.set(line.runnumber, line)
  for (const [, line] of broken) {
    failed++
    const why = line.why.slice(`${line.problem}: `.length)
    const message = `${line.runnumber} ${line.tag} ${line.type} ${why}; none of the run's payloads was inserted`
    log.warn(message)
    firstFailure ??= message
  }
  for (const line of plan) {
    if (line.action !== 'insert' || broken.has(line.runnumber)) {
      log.info(formatPlanLine(line))
      continue
    }
    const outcome = await insertOne(line, globalTag, lists.get(line.type)!, ctx, ledgerPath)
    if (outcome === undefined) inserted++
    else {
      failed++
      firstFailure ??= outcome
    }
  }
  for (const gap of incomplete) log.warn(gap)
  const summary = `upload: ${inserted} payloads inserted into ${globalTag} from ${runs.length} finished runs, ${failed} failed, ${tail}`
  if (failed > 0) throw new CaloprodError(`${summary}; first failure: ${firstFailure}`)
  return { lines: [...incomplete, summary], failed }
}

async function checkWritableStore(store: UploadContext['store']): Promise<void> {
  await checkStore(store.writeDir, store.source)
  // access() trusts the mode bits; only creating a file tells (root on a file system that refuses it).
  const probe = tempPathFor(join(store.writeDir, 'caloprod-probe'))
  try {
    await writeFile(probe, '', { flag: 'wx' })
    await unlink(probe)
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new CaloprodError(
      `the payload store ${store.writeDir} (write_dir in ${store.source}) is not writable by this user (${why}); nothing was uploaded`,
    )
  }
}

/** Whether a refusal concerns every insert: the credentials (401, 403). */
const refusesEveryInsert = (err: unknown) => err instanceof CdbRefusal && (err.status === 401 || err.status === 403)

/**
 * One payload: `uploading` row, copy into the store, POST piov, PUT piov_attach, `uploaded` row. A refusal is a
 * `failed` row (and the file copied just now is removed: nothing points at it); returns its message. An error
 * whose outcome is unknown (the CDB unreachable after the retries) leaves the `uploading` row for the next run to
 * settle, and stops the stage.
 */
async function insertOne(
  line: PlanLine,
  globalTag: string,
  list: string,
  ctx: UploadContext,
  ledgerPath: string,
): Promise<string | undefined> {
  const file = line.file!
  const url = line.url!
  const row: UploadRow = {
    time: now(),
    runnumber: line.runnumber,
    tag: line.tag,
    type: line.type,
    globalTag,
    state: 'uploading',
    checksum: file.md5,
    piov: undefined,
    url,
    detail: `into payload list ${list}`,
  }
  await appendUploads(ledgerPath, [row])
  let copied = false
  let reached = false
  try {
    copied = (await copyIntoStore(ctx.store.writeDir, url, file.path, file.md5)) === 'copied'
    ctx.onStep?.('copied')
    reached = true
    const id = await createPayloadIov(ctx.request, { url, checksum: file.md5, size: file.size, run: line.runnumber })
    ctx.onStep?.('posted')
    await attachPayloadIov(ctx.request, list, id)
    ctx.onStep?.('attached')
    await appendUploads(ledgerPath, [{ ...row, time: now(), state: 'uploaded', piov: id, detail: `piov ${id} attached to ${list}` }])
    ctx.log.info(`${line.runnumber} ${line.tag} ${line.type}: inserted as piov ${id} (${url})`)
    return undefined
  } catch (err) {
    const message = `${line.runnumber} ${line.tag} ${line.type}: ${(err as Error).message}`
    if (reached && !(err instanceof CdbRefusal)) {
      // The request may have reached the CDB: the `uploading` row stays, and the next run asks the CDB.
      throw new CaloprodError(`${message}; whether it reached the CDB is settled by the next run`, 1, { cause: err })
    }
    await appendUploads(ledgerPath, [{ ...row, time: now(), state: 'failed', detail: (err as Error).message }])
    if (copied) await unlink(join(ctx.store.writeDir, url)).catch(() => {})
    ctx.log.warn(message)
    if (!(err instanceof CdbRefusal)) throw new CaloprodError(message, 1, { cause: err })
    if (refusesEveryInsert(err)) {
      throw new CaloprodError(`${message}; set CALOPROD_CDB_TOKEN to a token the CDB accepts for writes (nothing more was uploaded)`)
    }
    return message
  }
}
