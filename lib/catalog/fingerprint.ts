import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type postgres from 'postgres'
import { writeFileIfChanged } from '../files/atomic.js'
import { trapCounts, type QueryFilesResult } from './query-files.js'

/** What a night's query.csv was made from: the catalog's fingerprint, the selection's statement, this code. */
interface Made {
  /** Undefined: the fingerprint cannot cover the catalog (catalogFingerprint); never equal to anything. */
  catalog: string | undefined
  selection: string
  code: string
}

/**
 * What a quiet night compares, kept beside query.csv (`query.fingerprint`) by the night that wrote it: `Made`, and
 * query.csv's size and mtime as that night left them. When all are equal the catalog can give nothing new, so the
 * query stage keeps query.csv without asking for it.
 */
interface QueryStamp extends Made {
  queryCsv: { size: number; mtimeMs: number }
  result: QueryFilesResult
}

/**
 * The catalog's fingerprint: `statement` (buildSelection's) on `sql`, in the session and snapshot the caller set
 * (setSession, lib/catalog/snapshot.ts: the query's snapshot, so the fingerprint describes exactly the rows the
 * query returns); `fingerprint` undefined when it cannot cover every file the selection reads (a histogram whose
 * file name does not start with its type). `traps`: the selection's trap counts from the same scan.
 */
export async function catalogFingerprint(sql: postgres.Sql, statement: string) {
  const [row] = await sql.unsafe(statement)
  const fingerprint = String(row.datasets).endsWith(' 0') ? `${row.datasets} ${row.files} ${row.columns}` : undefined
  return { fingerprint, traps: trapCounts(row) }
}

/** The `.ts` files under `dir`, names and bytes, as one digest. */
export async function treeDigest(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.ts')).sort()
  const hash = createHash('sha256')
  for (const name of names) hash.update(`${name}\0`).update(await readFile(join(dir, name)))
  return hash.digest('hex')
}

/**
 * This code: every file of lib/ (the stages run from source), so a change to how rows are read or written makes the
 * next night ask again. Read on the first stamp, not on import: a script that never queries reads none of it.
 */
let code: Promise<string> | undefined
const codeDigest = () => (code ??= treeDigest(fileURLToPath(new URL('..', import.meta.url))).catch(() => 'unknown'))

/** What a night's stamp holds for `select` besides the catalog's fingerprint, query.csv's state and the result. */
export async function stampFor(select: string): Promise<Omit<Made, 'catalog'>> {
  return { selection: createHash('sha256').update(select).digest('hex'), code: await codeDigest() }
}

/**
 * The stamp at `stampPath` when everything in it but the catalog's fingerprint is `wanted`'s and query.csv is as it
 * left it: a night whose fingerprint is the stamp's can keep query.csv. Undefined when no fingerprint could spare
 * the query (no stamp, another statement or code, query.csv changed, this code unreadable).
 */
export async function lastStamp(stampPath: string, csvPath: string, wanted: Omit<Made, 'catalog'>): Promise<QueryStamp | undefined> {
  const stamp = await readFile(stampPath, 'utf8').then((text) => JSON.parse(text) as QueryStamp).catch(() => undefined)
  if (stamp === undefined || stamp.catalog === undefined || wanted.code === 'unknown') return undefined
  const csv = await stat(csvPath).catch(() => undefined)
  const same = stamp.selection === wanted.selection && stamp.code === wanted.code &&
    csv !== undefined && csv.size === stamp.queryCsv?.size && csv.mtimeMs === stamp.queryCsv?.mtimeMs
  return same ? stamp : undefined
}

/** Records what this night's query.csv was made from; written after query.csv, so a crash between costs a query. */
export async function saveStamp(stampPath: string, csvPath: string, made: Made, result: QueryFilesResult): Promise<void> {
  const { size, mtimeMs } = await stat(csvPath)
  const stamp: QueryStamp = { ...made, queryCsv: { size, mtimeMs }, result }
  await writeFileIfChanged(stampPath, `${JSON.stringify(stamp, null, 1)}\n`)
}
