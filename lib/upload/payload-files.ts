// The payload files a finished genStatus job left in `<output>/output/<run>_<tag>/`, found by name, one per payload
// type, and checked before anything is copied: present, a regular file, not empty, a ROOT file by its magic bytes,
// and whole: as long as its header says.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { currentPayloadFile, type PayloadType } from '../rules/calibrations.js'
import { runTagKey } from '../files/dataset-list.js'
import { folderFiles } from '../files/folder-files.js'
import { layout } from '../files/layout.js'

/** A payload file ready to insert; its `name` is kept by the CDB, the only record of the tag and run it was built for. */
export interface PayloadFile {
  type: PayloadType
  path: string
  name: string
  size: number
  md5: string
}

export interface PayloadProblem {
  type: PayloadType
  path: string
  reason: 'missing' | 'empty' | 'not ROOT' | 'truncated' | 'unreadable'
  detail: string
}

export type PayloadCheck = { ok: true; file: PayloadFile } | { ok: false; problem: PayloadProblem }

/** Every ROOT file starts with these four bytes (TFile's header). */
const ROOT_MAGIC = Buffer.from('root')

/**
 * The file's length by its ROOT header (TFile::WriteHeader, ROOT's "File header format" page): big-endian, the
 * format version at byte 4, END at byte 12, 4 bytes, or 8 when the version is over 1000000 (files past 2 GB). TFile
 * writes END, the file's size, when it closes the file; a file cut off, or never closed (its writer killed, or out
 * of space), is not as long as its END. A bigint, so an END past 2^53 (a file that is not ROOT) is said exactly;
 * undefined when the header itself is cut off.
 *
 * Stricter than ROOT itself, which opens a file longer than its END without a word when its keys' record was written
 * (TFile::Init: `fSeekKeys > fBEGIN && fEND <= size`): a file rewritten in place can be. A payload never is: genStatus
 * writes each one new (CDBTTree::WriteCDBTTree: RECREATE, Write, Close), and a longer one is a file never closed.
 */
function rootEnd(head: Buffer): bigint | undefined {
  if (head.length < 16) return undefined
  if (head.readInt32BE(4) < 1000000) return BigInt(head.readInt32BE(12))
  return head.length < 20 ? undefined : head.readBigInt64BE(12)
}
const ROOT_HEADER = 20

export function runOutputDir(output: string, runnumber: number, tag: string): string {
  return join(layout.jobOutputDir(output), runTagKey(runnumber, tag))
}

/** md5 of a file and its first bytes (ROOT's header), streamed so memory stays flat. */
async function readPayload(path: string): Promise<{ md5: string; head: Buffer }> {
  const hash = createHash('md5')
  let head = Buffer.alloc(0)
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if (head.length < ROOT_HEADER) head = Buffer.concat([head, chunk as Buffer]).subarray(0, ROOT_HEADER)
    hash.update(chunk as Buffer)
  }
  return { md5: hash.digest('hex'), head }
}

export const md5File = async (path: string): Promise<string> => (await readPayload(path)).md5

export async function checkPayload(output: string, runnumber: number, tag: string, type: PayloadType): Promise<PayloadCheck> {
  const name = currentPayloadFile(type, tag, runnumber)
  const path = join(runOutputDir(output, runnumber, tag), name)
  const problem = (reason: PayloadProblem['reason'], detail: string): PayloadCheck =>
    ({ ok: false, problem: { type, path, reason, detail } })
  try {
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
      throw err
    })
    if (!info) return problem('missing', `no ${name} (genStatus writes a payload only when its histogram has entries)`)
    if (!info.isFile()) return problem('unreadable', `${path} is not a regular file`)
    if (info.size === 0) return problem('empty', `${path} is empty`)
    const { md5, head } = await readPayload(path)
    const bad = headProblem(path, info.size, head)
    if (bad) return problem(...bad)
    return { ok: true, file: { type, path, name, size: info.size, md5 } }
  } catch (err) {
    return problem('unreadable', `${path} cannot be read: ${(err as Error).message}`)
  }
}

/** What a payload's first bytes say is wrong with a file of `size` bytes: not ROOT, or not as long as its header says. */
function headProblem(path: string, size: number, head: Buffer): [PayloadProblem['reason'], string] | undefined {
  if (!head.subarray(0, ROOT_MAGIC.length).equals(ROOT_MAGIC)) return ['not ROOT', `${path} does not start with "root": not a ROOT file`]
  const end = rootEnd(head)
  if (end === BigInt(size)) return undefined
  const says = end === undefined ? 'is shorter than a ROOT header' : `has ${size} bytes where its ROOT header says ${end}`
  return ['truncated', `${path} ${says}: cut off, or never closed by genStatus (killed, or out of space, while writing it); send the run again (examples/resubmit.ts)`]
}

/**
 * The payloads of `types` genStatus wrote for (run, tag) that upload would refuse (empty, not ROOT, cut off), by
 * their size and ROOT header alone: what status tells of a finished run without reading the files whole. A type with
 * no file is absentPayloads', not here.
 */
export async function unusablePayloads(output: string, run: number, tag: string, types: readonly PayloadType[]): Promise<PayloadProblem[]> {
  const found = await Promise.all(types.map(async (type): Promise<PayloadProblem | undefined> => {
    const path = join(runOutputDir(output, run, tag), currentPayloadFile(type, tag, run))
    const problem = (reason: PayloadProblem['reason'], detail: string) => ({ type, path, reason, detail })
    try {
      // Asked before it is opened: opening a FIFO left in the folder would wait for a writer.
      const info = await stat(path)
      if (!info.isFile()) return problem('unreadable', `${path} is not a regular file`)
      if (info.size === 0) return problem('empty', `${path} is empty`)
      const file = await open(path)
      try {
        const { buffer, bytesRead } = await file.read(Buffer.alloc(ROOT_HEADER), 0, ROOT_HEADER, 0)
        const bad = headProblem(path, info.size, buffer.subarray(0, bytesRead))
        return bad && problem(...bad)
      } finally {
        await file.close()
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : problem('unreadable', `${path} cannot be read: ${(err as Error).message}`)
    }
  }))
  return found.filter((problem) => problem !== undefined)
}

/** The payload types of (run, tag) for which genStatus wrote no file: what makes a run incomplete. */
export async function absentPayloads(output: string, run: number, tag: string, types: readonly PayloadType[]): Promise<PayloadType[]> {
  return absentFrom(await folderFiles(runOutputDir(output, run, tag)), run, tag, types)
}

/** absentPayloads from the files of the run's folder (`folderFiles`, undefined: no folder), read once. */
export function absentFrom(
  files: ReadonlyMap<string, number> | undefined, run: number, tag: string, types: readonly PayloadType[],
): PayloadType[] {
  return types.filter((type) => !files?.has(currentPayloadFile(type, tag, run)))
}
