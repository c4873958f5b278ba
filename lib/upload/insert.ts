// One run's inserts, as nopayloadclient's insertPayload makes them, each step in the ledger uploads.csv: `uploading`
// before the copy into the store, `created` with the payload IOV's id as soon as the CDB made it, `uploaded` once
// attached. Each write is sent once (POST piov is not idempotent): what the CDB refused is recorded, what came of a
// write whose answer never arrived is asked of the CDB by the next run (lib/upload.ts, settle) before writing again.
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { attachPayloadIov, createPayloadIov, isRefusal, payloadIovIsOpen, type CdbRequest } from '../cdb/nopayload-write.js'
import { CaloprodError } from '../errors.js'
import type { Log } from '../log.js'
import { appendUploads, ATTACH_REFUSED, uploadKey, type UploadRow } from './ledger.js'
import { insertedRow, type Inserted } from './model.js'
import { formatPlanLine, type PlanLine } from './plan.js'
import { copyIntoStore } from './store.js'

/** `lists`: the tag's payload lists by type; `latest`: the ledger's last row of each payload (latestUploads). */
interface InsertContext {
  log: Log
  request: CdbRequest
  store: { writeDir: string }
  globalTag: string
  lists: ReadonlyMap<string, string>
  ledgerPath: string
  latest: ReadonlyMap<string, UploadRow>
}

const now = () => new Date().toISOString()

/** Carries out one run's plan; returns its failures, one line each. Made inserts join `mine`. */
export async function insertRun(lines: readonly PlanLine[], ctx: InsertContext, mine: Inserted[]): Promise<string[]> {
  // A file that is there but unusable (empty, not ROOT) needs a person: none of its run's payloads go in.
  const broken = lines.find((l) => l.problem && l.problem !== 'missing' && l.problem !== 'layout' && l.problem !== 'url')
  if (broken) {
    const why = broken.why.slice(`${broken.problem}: `.length)
    const failure = `${broken.runnumber} ${broken.tag} ${broken.type} ${why}; none of the run's payloads was inserted`
    ctx.log.warn(failure)
    return [failure]
  }
  const failures: string[] = []
  const held = heldRows(lines, ctx)
  if (held.length > 0) await appendUploads(ctx.ledgerPath, held)
  for (const line of lines) {
    if (line.action !== 'insert') {
      if (line.problem === 'layout') failures.push(formatPlanLine(line))
      ctx.log[line.problem === 'layout' || line.problem === 'url' ? 'warn' : 'info'](formatPlanLine(line))
      continue
    }
    const refused = await insertOne(line, ctx)
    if (refused === undefined) mine.push(insertedRow(line))
    else failures.push(refused)
  }
  return failures
}

/**
 * The ledger rows of the payloads the CDB already holds for the run (PlanLine.held): `uploaded` when it is this very
 * file, `present` when another current one; none where the ledger says so already, so nights do not repeat them.
 */
function heldRows(lines: readonly PlanLine[], ctx: InsertContext): UploadRow[] {
  return lines.flatMap((line): UploadRow[] => {
    if (!line.held) return []
    const { url, same, checksum } = line.held
    const state = same ? 'uploaded' : 'present'
    const key = { runnumber: line.runnumber, tag: line.tag, type: line.type, globalTag: ctx.globalTag }
    const last = ctx.latest.get(uploadKey(key))
    if (last?.state === state && last.checksum === checksum && last.url === url) return []
    const detail = same ? 'nothing inserted: the CDB already held this file for the run' : `nothing inserted: ${line.why}`
    return [{ ...key, time: now(), state, checksum, piov: undefined, url, detail }]
  })
}

/**
 * One payload (a piov an earlier run made starts at the attach). A refusal is recorded (`failed`, or `created` when
 * the attach was refused) and returned as one line; a 403 stops the stage, and so does an error whose outcome is
 * unknown (no answer, or a 200 that is not nopayloaddb's: attachPayloadIov), its row left open for the next run to
 * settle with the CDB.
 */
async function insertOne(line: PlanLine, ctx: InsertContext): Promise<string | undefined> {
  const { globalTag, ledgerPath } = ctx
  const list = ctx.lists.get(line.type)!
  const file = line.file!
  const row: UploadRow = {
    time: now(), runnumber: line.runnumber, tag: line.tag, type: line.type, globalTag,
    state: 'uploading', checksum: file.md5, piov: line.piov, url: line.url!, detail: `into payload list ${list}`,
  }
  const record = (state: UploadRow['state'], piov: number | undefined, detail: string) =>
    appendUploads(ledgerPath, [{ ...row, time: now(), state, piov, detail }])
  const say = (text: string) => `${line.runnumber} ${line.tag} ${line.type}: ${text}`
  const unknown = (err: unknown) =>
    new CaloprodError(say(`${(err as Error).message}; the next run asks the CDB what came of it before writing again`), 1, { cause: err })
  const refused = (err: Error & { status: number }): string => {
    ctx.log.warn(say(err.message))
    if (err.status === 401 || err.status === 403) {
      const advice = 'set CALOPROD_CDB_TOKEN to a token the CDB accepts for writes (nothing more was uploaded)'
      throw new CaloprodError(say(`${err.message}; ${advice}`))
    }
    return say(err.message)
  }
  let piov = line.piov
  // A payload IOV an earlier run made keeps the end it was made with. Made open, [run, ∞), and attached where the
  // tag now has a later IOV, it would take every later IOV out of the list: one that no longer fits is left detached.
  const open = piov === undefined ? undefined : await payloadIovIsOpen(ctx.request, row.url, piov)
  if (piov !== undefined && open !== undefined && open !== Boolean(line.open)) {
    const iov = (isOpen: boolean) => (isOpen ? `[${line.runnumber}, ∞)` : `[${line.runnumber}, ${line.runnumber + 1})`)
    ctx.log.warn(say(`piov ${piov} was made for ${iov(open)}, but the tag's IOVs now take ${iov(!open)}: left detached, a new one is made`))
    piov = undefined
  }
  if (piov === undefined) await appendUploads(ledgerPath, [{ ...row, piov: undefined }])
  const stored = await copyIntoStore(ctx.store.writeDir, row.url, file.path, file.md5).catch(async (err: Error) => {
    if (piov === undefined) await record('failed', undefined, err.message)
    throw new CaloprodError(say(err.message), 1, { cause: err })
  })
  if (piov === undefined) {
    try {
      piov = await createPayloadIov(ctx.request, { url: row.url, checksum: file.md5, run: line.runnumber, open: line.open })
    } catch (err) {
      if (!isRefusal(err)) throw unknown(err)
      await record('failed', undefined, err.message)
      // Nothing points at the file copied just now.
      if (stored === 'copied') await unlink(join(ctx.store.writeDir, row.url)).catch(() => {})
      return refused(err)
    }
    await record('created', piov, `piov ${piov} made, to attach to ${list}`)
  }
  try {
    await attachPayloadIov(ctx.request, list, piov)
  } catch (err) {
    if (!isRefusal(err)) throw unknown(err)
    await record('created', piov, `${ATTACH_REFUSED} (${err.message}); the next run attaches piov ${piov} again`)
    return refused(err)
  }
  await record('uploaded', piov, `piov ${piov} attached to ${list}`)
  ctx.log.info(say(`inserted as piov ${piov} (${row.url})${line.open ? `, IOV [${line.runnumber}, ∞)` : ''}${line.moves ? `; ${line.moves}` : ''}`))
  return undefined
}
