// The one chunked reader of CSV records (RFC 4180, `\n` ends a record) under the append-only ledgers
// (lib/files/append-only.ts) and query.csv (lib/files/query-csv.ts): one buffer for the whole file, reused, each
// record handed on as bytes where it lies, so memory holds a chunk, not the file. A fresh buffer per read (a stream's
// way) is memory outside V8's heap that a pass allocating little inside it does not collect for tens of megabytes
// (reduce's copy pass: 35 MB more resident). Bytes `\n`, `"` and `\r` never occur inside a multi-byte UTF-8 character.
import { open } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { quotedRecordEnd, SHAPE } from './csv.js'

/** Where each record goes; `end` is always the index of the record's newline. */
export interface RecordVisitor {
  /** A record without a quote: the line b[start, end), on `line`. */
  line(b: Buffer, start: number, end: number, line: number): void
  /**
   * A record with a quote: from its line to the first newline after an even number of quotes (the run of lines
   * eachRecord gives csv-parse), b[start, end], starting on `line`. It may hold a carriage return: its reader parses
   * it and says which comes first.
   */
  quoted(b: Buffer, start: number, end: number, line: number): void
  /** The bytes left after the last record at the end of the file (a record that does not end), from `line`. */
  rest(b: Buffer, line: number): void
}

export interface RecordChunkOptions {
  /** Bytes read at a time (the buffer grows for a record longer than half of it). */
  readBytes: number
  /** No file reads as an empty one rather than as an error. @default false */
  missingOk?: boolean
  /**
   * A carriage return anywhere is the first error, at its own line: the first error of the records (thrown by the
   * visitor) is kept until the end is read without one. Otherwise the records are refused in the order they are read,
   * a line holding a carriage return at that line. @default false
   */
  carriageReturnFirst?: boolean
}

const QUOTE = 0x22
const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * Reads the file at `path` a chunk at a time, handing each complete record to `visit` in the file's order. After
 * each read, yields the buffer the records were in and where the last complete one ends, with the line after it; the
 * buffer is read into again once the caller asks for more. Refuses a byte-order mark and carriage returns. A file
 * that cannot be read is an InputError naming it.
 */
export async function* recordChunks(
  path: string, visit: RecordVisitor, options: RecordChunkOptions,
): AsyncGenerator<{ buffer: Buffer; end: number; line: number }> {
  const { readBytes, missingOk = false, carriageReturnFirst = false } = options
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
  }
  let buffer = Buffer.allocUnsafe(readBytes)
  // Bytes at the buffer's start not handed on yet: the start of a record, on `line`.
  let carried = 0
  let line = 1
  // With carriageReturnFirst, the first error of the records, thrown once the file is read without a carriage return.
  let failed: unknown
  try {
    for (let first = true; ; first = false) {
      // A record longer than half the buffer: a larger one, so each read brings in at least as much as it holds.
      if (carried > buffer.length / 2) buffer = Buffer.concat([buffer.subarray(0, carried)], 2 * buffer.length)
      const { bytesRead } = await handle.read(buffer, carried, buffer.length - carried, null)
      if (bytesRead === 0) break
      const b = buffer.subarray(0, carried + bytesRead)
      if (first && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) throw new InputError(path, 1, SHAPE.bom)
      // The first carriage return (the carried bytes were searched already when it comes first).
      const cr = b.indexOf(CARRIAGE_RETURN, carriageReturnFirst ? carried : 0)
      if (carriageReturnFirst && cr !== -1) throw new InputError(path, line + newlines(b, 0, cr), SHAPE.crlf)
      let pos = 0
      try {
        // A line without a quote ends at its newline; the next quote is searched for again only once passed.
        for (let quote = b.indexOf(QUOTE); failed === undefined;) {
          const nl = b.indexOf(NEWLINE, pos)
          if (nl === -1) break
          if (quote !== -1 && quote < pos) quote = b.indexOf(QUOTE, pos)
          if (quote === -1 || quote > nl) {
            if (cr !== -1 && cr < nl) throw new InputError(path, line, SHAPE.crlf)
            visit.line(b, pos, nl, line)
            line++
            pos = nl + 1
            continue
          }
          const end = quotedRecordEnd(b, pos)
          if (end === -1) break
          visit.quoted(b, pos, end, line)
          line += newlines(b, pos, end + 1)
          pos = end + 1
        }
      } catch (err) {
        if (!carriageReturnFirst) throw err
        failed = err
      }
      // After an error only carriage returns are looked for: the lines are counted, nothing is carried but a line's start.
      if (failed !== undefined) {
        const after = b.lastIndexOf(NEWLINE) + 1
        if (after > pos) [line, pos] = [line + newlines(b, pos, after), after]
      }
      yield { buffer: b, end: pos, line }
      b.copyWithin(0, pos)
      carried = b.length - pos
    }
    if (failed !== undefined) throw failed
    if (carried > 0) visit.rest(buffer.subarray(0, carried), line)
  } catch (err) {
    if (!(err instanceof InputError) && typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
    }
    throw err
  } finally {
    await handle.close()
  }
}

/** How many line ends b[from, to) holds. */
function newlines(b: Buffer, from: number, to: number): number {
  let count = 0
  for (let at = b.indexOf(NEWLINE, from); at !== -1 && at < to; at = b.indexOf(NEWLINE, at + 1)) count++
  return count
}
