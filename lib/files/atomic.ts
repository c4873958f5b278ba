import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { createReadStream, readFileSync, writeSync, writevSync } from 'node:fs'
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeError } from './disk-full.js'

/** The temporary names made under `withOwnTemps`, still to be moved into place or removed. */
const ownTemps = new AsyncLocalStorage<Set<string>>()

/**
 * A temporary file beside `path`, hidden and suffixed `.tmp` so no glob of a later stage
 * or the Taskfile ever takes it for the real output. Under `withOwnTemps` it is remembered until it is
 * moved into place or dropped.
 */
export function tempPathFor(path: string): string {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  ownTemps.getStore()?.add(temp)
  return temp
}

/** A temporary name moved into place or removed: nothing left to clean up. */
function settled(temp: string): void {
  ownTemps.getStore()?.delete(temp)
}

/**
 * Runs `work` and then, however it ended (an error or a stage stopped by an internal error while `work` still
 * runs), removes every temporary file or folder that `work` named through `tempPathFor` and that is still there.
 */
export async function withOwnTemps<T>(work: () => Promise<T>): Promise<T> {
  const temps = new Set<string>()
  try {
    return await ownTemps.run(temps, work)
  } finally {
    await Promise.all([...temps].map((temp) => rm(temp, { recursive: true, force: true }).catch(() => {})))
  }
}

/** Whether two files hold the same bytes, reading both in chunks so memory stays flat. */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b).catch(() => undefined)])
  if (!sb || sa.size !== sb.size) return false
  const ra = createReadStream(a, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]()
  const rb = createReadStream(b, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]()
  let bufA: Buffer = Buffer.alloc(0)
  let bufB: Buffer = Buffer.alloc(0)
  try {
    for (;;) {
      if (bufA.length === 0) {
        const next = await ra.next()
        bufA = next.done ? Buffer.alloc(0) : (next.value as Buffer)
      }
      if (bufB.length === 0) {
        const next = await rb.next()
        bufB = next.done ? Buffer.alloc(0) : (next.value as Buffer)
      }
      if (bufA.length === 0 || bufB.length === 0) return bufA.length === bufB.length
      const n = Math.min(bufA.length, bufB.length)
      if (!bufA.subarray(0, n).equals(bufB.subarray(0, n))) return false
      bufA = bufA.subarray(n)
      bufB = bufB.subarray(n)
    }
  } finally {
    await ra.return?.()
    await rb.return?.()
  }
}

/**
 * Moves a finished temporary file into place, unless `path` already holds the same bytes: then the
 * temporary file is dropped and `path` keeps its mtime, so nothing downstream re-runs.
 * Returns whether `path` changed.
 */
async function commitTemp(temp: string, path: string): Promise<boolean> {
  if (await sameContent(temp, path)) {
    await unlink(temp)
    settled(temp)
    return false
  }
  await renameOrDrop(temp, path)
  settled(temp)
  await syncDirectory(dirname(path))
  return true
}

/** Renames a finished temporary file into place, or removes it when that fails (a directory at `path`, a full disk). */
async function renameOrDrop(temp: string, path: string): Promise<void> {
  try {
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => {})
    throw err
  }
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

/** Whether `path` holds exactly `bytes` and, when `mode` is given, has exactly that mode. */
async function alreadyWritten(path: string, bytes: Buffer, mode: number | undefined): Promise<boolean> {
  const old = await readFile(path).catch(() => undefined)
  if (!old || !old.equals(bytes)) return false
  return mode === undefined || ((await stat(path)).mode & 0o7777) === mode
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
 * Writes `content` to `path` atomically (temporary file, fsync, rename), and only when it differs from
 * what is there, or `mode` (set exactly, whatever the umask) differs from the file's: a script that lost its
 * executable bit is written again. Creates the parent directory. Returns whether `path` changed.
 */
export async function writeFileIfChanged(path: string, content: string | Buffer, mode?: number): Promise<boolean> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  if (await alreadyWritten(path, bytes, mode)) return false
  try {
    return await replaceWith(path, bytes, mode)
  } catch (err) {
    throw writeError(err, path)
  }
}

async function replaceWith(path: string, bytes: Buffer, mode: number | undefined): Promise<true> {
  await mkdir(dirname(path), { recursive: true })
  const temp = tempPathFor(path)
  const handle = await open(temp, 'w', mode)
  try {
    await handle.writeFile(bytes)
    if (mode !== undefined) await handle.chmod(mode)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await unlink(temp).catch(() => {})
    throw err
  }
  await handle.close()
  await renameOrDrop(temp, path)
  settled(temp)
  await syncDirectory(dirname(path))
  return true
}

/** A file being streamed to a temporary name; `commit` moves it into place if its content changed. */
interface AtomicWriter {
  /** Appends `chunk` (a string as UTF-8; a Buffer as it is, never decoded). */
  write(chunk: string | Buffer): Promise<void>
  /**
   * Appends `chunk` at once, the process waiting: for a producer that cannot be paused (the catalog's rows), so
   * nothing piles up in memory. `chunk` may be reused when this returns; never while a `write` is under way.
   */
  writeNow(chunk: Buffer): void
  /** Finishes the file and moves it into place; returns whether `path` changed. */
  commit(): Promise<boolean>
  /** Drops the temporary file; `path` stays as it was. */
  abort(): Promise<void>
}

/** Bytes gathered before a write: large writes, and little held at any time. */
const WRITE_BYTES = 256 << 10

/** Opens a streamed atomic write of `path`, gathering small writes into large ones. */
export async function openAtomicWriter(path: string): Promise<AtomicWriter> {
  try {
    return await openStreamedWrite(path)
  } catch (err) {
    throw writeError(err, path)
  }
}

async function openStreamedWrite(path: string): Promise<AtomicWriter> {
  await mkdir(dirname(path), { recursive: true })
  const temp = tempPathFor(path)
  const handle: FileHandle = await open(temp, 'w')
  let pending: Buffer[] = []
  let pendingBytes = 0
  let closed = false
  const flush = async () => {
    const [buffers, bytes] = [pending, pendingBytes]
    pending = []
    pendingBytes = 0
    if (buffers.length === 0) return
    let { bytesWritten } = await handle.writev(buffers)
    // libuv writes files whole; should a write ever stop short, the rest goes after it.
    if (bytesWritten < bytes) {
      const rest = Buffer.concat(buffers).subarray(bytesWritten)
      for (let done = 0; done < rest.length; done += bytesWritten) ({ bytesWritten } = await handle.write(rest, done))
    }
  }
  const flushNow = (chunk: Buffer) => {
    const buffers = [...pending, chunk]
    const bytes = pendingBytes + chunk.length
    pending = []
    pendingBytes = 0
    let written = writevSync(handle.fd, buffers)
    if (written < bytes) {
      const rest = Buffer.concat(buffers).subarray(written)
      for (let done = 0; done < rest.length; done += written) written = writeSync(handle.fd, rest, done)
    }
  }
  // A full disk shows on a write, the fsync or the close: each names the file, not whoever fed it the bytes.
  const named = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step()
    } catch (err) {
      throw writeError(err, path)
    }
  }
  return {
    async write(chunk) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      if (buffer.length === 0) return
      pending.push(buffer)
      pendingBytes += buffer.length
      if (pendingBytes >= WRITE_BYTES) await named(flush)
    },
    writeNow(chunk) {
      try {
        flushNow(chunk)
      } catch (err) {
        throw writeError(err, path)
      }
    },
    async commit() {
      return named(async () => {
        await flush()
        await handle.sync()
        await handle.close()
        closed = true
        return commitTemp(temp, path)
      })
    },
    async abort() {
      if (!closed) await handle.close().catch(() => {})
      closed = true
      await unlink(temp).then(() => settled(temp), () => {})
    },
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
 * Removes the temporary files that a killed writer left in `dir` (those whose process is gone), so
 * a stage killed every night does not fill the directory; with `own`, that process's too (a stage interrupted,
 * before it exits). Returns how many it removed.
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
