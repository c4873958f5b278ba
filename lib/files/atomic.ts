import { randomBytes } from 'node:crypto'
import { constants, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { chmod, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { scopedSets } from '../scoped-sets.js'
import { writeError } from './disk-full.js'

const removeTemps = async (temps: ReadonlySet<string>) => {
  await Promise.all([...temps].map((temp) => rm(temp, { recursive: true, force: true }).catch(() => {})))
}

/** The temporary names made under `withOwnTemps` (a stage's body), still to be moved into place or removed. */
const stageTemps = scopedSets<string>(removeTemps)

/** A temporary name moved into place or removed: the stage's cleanup has nothing left to do for it. */
const forget = (temp: string) => void stageTemps.current()?.items.delete(temp)

/** The set a temporary name joins; throws once the stage has removed its temporary files. */
function tempsOf(path: string): Set<string> | undefined {
  const scope = stageTemps.current()
  if (scope?.closed) throw Object.assign(new Error(`${path}: not made, the stage is ending`), { code: 'ECANCELED' })
  return scope?.items
}

/**
 * A temporary file beside `path`, hidden and suffixed `.tmp` so no glob of a later stage or the Taskfile takes it
 * for the real output; under `withOwnTemps`, remembered until moved into place or dropped.
 */
export function tempPathFor(path: string): string {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  tempsOf(temp)?.add(temp)
  return temp
}

/** `path`, a temporary file or folder made elsewhere (e.g. mkdtemp under TMPDIR), remembered as tempPathFor's are. */
export function ownTemp(path: string): string {
  try {
    tempsOf(path)?.add(path)
  } catch (err) {
    rmSync(path, { recursive: true, force: true })
    throw err
  }
  return path
}

/** Runs `work`, then, however it ended, removes every temporary file or folder it named that is still there. */
export const withOwnTemps = <T>(work: () => Promise<T>): Promise<T> => stageTemps.within(work)

/** Removes the temporary names of every `withOwnTemps` still running (a signal ends the process before they end). */
export const removeAllOwnTemps = (): Promise<void> => stageTemps.releaseAll()

/** Whether two files hold the same bytes, reading both in chunks so memory stays flat. */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b).catch(() => undefined)])
  // Only a regular file can hold the same bytes: opening a FIFO there would wait for a writer that never comes.
  if (!sb?.isFile() || sa.size !== sb.size) return false
  const [ba, bb] = [Buffer.alloc(1 << 20), Buffer.alloc(1 << 20)]
  const ha = await open(a)
  const hb = await open(b).catch((err) => ha.close().then(() => Promise.reject(err)))
  try {
    for (let at = 0; ; at += ba.length) {
      const [ra, rb] = await Promise.all([ha.read(ba, 0, ba.length, at), hb.read(bb, 0, bb.length, at)])
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
      if (ra.bytesRead < ba.length) return true
    }
  } finally {
    await Promise.all([ha.close(), hb.close()])
  }
}

/** Renames a finished temporary file into place, durably; removes it when that fails (a directory at `path`). */
async function moveIntoPlace(temp: string, path: string): Promise<void> {
  try {
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw err
  }
  forget(temp)
  await syncDirectory(dirname(path))
}

/** Makes a rename or a new file durable: without it a crash can forget the new directory entry. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Writes `content` to a new file `path` and fsyncs it, with `mode` even under a umask; for files that become
 * visible only as part of something renamed into place later (a folder built under a temporary name).
 */
export async function writeDurably(path: string, content: string | Buffer, mode?: number): Promise<void> {
  await writeFile(path, content, { flush: true, mode })
  if (mode !== undefined) await chmod(path, mode)
}

/**
 * Writes `content` to `path` atomically (temporary file, fsync, rename), only when it or `mode` (set exactly,
 * whatever the umask: a script that lost its executable bit is written again) differs. Returns whether it did.
 */
export async function writeFileIfChanged(path: string, content: string | Buffer, mode?: number): Promise<boolean> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  const old = await readRegularFile(path)
  if (old?.bytes.equals(bytes) && (mode === undefined || (old.mode & 0o7777) === mode)) return false
  return naming(path, async () => {
    await mkdir(dirname(path), { recursive: true })
    const temp = tempPathFor(path)
    await writeDurably(temp, bytes, mode).catch(async (err) => {
      await unlink(temp).catch(() => {})
      throw err
    })
    await moveIntoPlace(temp, path)
    return true
  })
}

/**
 * The bytes and mode of `path` when it is a regular file, else undefined (none, unreadable, or something else: a
 * FIFO is opened without blocking and not read, as reading it would wait for a writer that never comes).
 */
async function readRegularFile(path: string): Promise<{ bytes: Buffer; mode: number } | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined)
  if (!handle) return undefined
  try {
    const info = await handle.stat()
    return info.isFile() ? { bytes: await handle.readFile(), mode: info.mode } : undefined
  } catch {
    return undefined
  } finally {
    await handle.close()
  }
}

/** Runs `step`; a full disk, shown on a write, an fsync or a close, names `path`, not whoever fed it the bytes. */
async function naming<T>(path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    throw writeError(err, path)
  }
}

/** Bytes gathered before a write: large writes, and little held at any time. */
const WRITE_BYTES = 256 << 10

/**
 * Opens a streamed atomic write of `path` to a temporary name, gathering small writes into large ones; `commit`
 * moves it into place if its content changed and returns whether it did, `abort` drops it.
 */
export async function openAtomicWriter(path: string) {
  const temp = tempPathFor(path)
  const handle = await naming(path, async () => {
    await mkdir(dirname(path), { recursive: true })
    return open(temp, 'w')
  })
  let pending: Buffer[] = []
  let pendingBytes = 0
  let closed = false
  // writeFile and writeFileSync write all of a buffer at the file's position, however short a single write falls.
  const gathered = (chunk?: Buffer) => {
    const buffers = chunk ? [...pending, chunk] : pending
    pending = []
    pendingBytes = 0
    return buffers.length === 1 ? buffers[0] : Buffer.concat(buffers)
  }
  const flush = async () => {
    if (pending.length > 0) await handle.writeFile(gathered())
  }
  return {
    /** A string is written as UTF-8; a Buffer as it is, never decoded. */
    async write(chunk: string | Buffer): Promise<void> {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      if (buffer.length === 0) return
      pending.push(buffer)
      pendingBytes += buffer.length
      if (pendingBytes >= WRITE_BYTES) await naming(path, flush)
    },
    /**
     * Writes at once, the process waiting: for a producer that cannot be paused (the catalog's rows), so nothing
     * piles up. `chunk` may be reused when this returns; never call it while a `write` is under way.
     */
    writeNow(chunk: Buffer): void {
      try {
        writeFileSync(handle.fd, gathered(chunk))
      } catch (err) {
        throw writeError(err, path)
      }
    },
    async commit(): Promise<boolean> {
      return naming(path, async () => {
        await flush()
        await handle.sync()
        await handle.close()
        closed = true
        if (!(await sameContent(temp, path))) return moveIntoPlace(temp, path).then(() => true)
        await unlink(temp)
        forget(temp)
        return false
      })
    },
    async abort(): Promise<void> {
      if (!closed) await handle.close().catch(() => {})
      closed = true
      await unlink(temp).then(() => forget(temp), () => {})
    },
  }
}

/**
 * writeFileIfChanged of content made in parts (a page too large to hold whole, and again as its bytes): each part is
 * written as it comes (openAtomicWriter), so only the parts not yet written are held. A part that throws, or a write
 * that fails, leaves `path` as it was and no temporary file. Returns whether the file changed and its size in bytes.
 */
export async function writePartsIfChanged(path: string, parts: Iterable<string>): Promise<{ changed: boolean; bytes: number }> {
  const writer = await openAtomicWriter(path)
  let bytes = 0
  try {
    for (const part of parts) {
      bytes += Buffer.byteLength(part)
      await writer.write(part)
    }
    return { changed: await writer.commit(), bytes }
  } catch (err) {
    await writer.abort()
    throw err
  }
}

/** Whether a process id names a live process on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A killed process whose parent died too stays a zombie until init reaps it, which in a container may take
  // seconds or never happen (a PID 1 that does not reap): signal 0 still reaches it, but it runs no more.
  return !isZombie(pid)
}

/** Whether /proc says the process has ended and waits to be reaped (state Z or X); false where /proc is unreadable. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/

/**
 * Removes the temporary files in `dir` of writers whose process is gone (a stage killed every night must not fill
 * it), and with `own` that process's too (a stage interrupted, before it exits). Returns how many it removed.
 */
export async function sweepStaleTemps(dir: string, own?: number): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[])
  let removed = 0
  for (const name of names) {
    const match = TEMP_NAME.exec(name)
    if (!match || (Number(match[1]) !== own && processAlive(Number(match[1])))) continue
    await unlink(join(dir, name)).then(() => removed++, () => {})
  }
  return removed
}
