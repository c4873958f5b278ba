import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type postgres from 'postgres'
import { CATALOG_SCHEMA, generateCatalog, type CatalogShape, type DatasetRow, type FileRow } from './catalog.js'

/**
 * A Run 3-sized FileCatalog at `scale` times the default: 3,000 run3auau runs with 1 to 3 production tags
 * each, 150 segments per run and tag, a DST_CALOFITTING twin for 96% of them, four rows of other dataset
 * types per segment (four times the HIST_CALOQA rows), a HIST_CALOFITTINGQA file beside each HIST_CALOQA file
 * (what the `current` rules list too), and a few Run 2 runs outside the run range. Without the catalog's traps
 * (skimmed files, segment 9999, ...): on it, the seed's own two-step selection and caloprod's give the same rows
 * exactly (bench/plans.ts), which is the proof at scale; the traps are tested on smaller catalogs.
 */
export function scaleShape(scale = 1, options: { root?: string; seed?: number } = {}): CatalogShape {
  if (!(scale > 0)) throw new Error(`scale ${scale} must be greater than 0`)
  return {
    seed: options.seed ?? 20260101,
    runs: { run2pp: 200, run2auau: 100, run3auau: Math.round(3000 * scale) },
    segments: [150, 150],
    noise: 4,
    root: options.root ?? '',
    fittingQa: true,
    traps: false,
  }
}

/**
 * The indexes a production FileCatalog plausibly has besides its primary keys, created after the load:
 * - `datasets (dsttype text_pattern_ops, runnumber, tag, segment)`: the catalog's everyday question is
 *   "the files of type T of run R (and tag), by segment" (CreateDstList.pl, the analysis lists); the
 *   pattern opclass also serves `dsttype like 'HIST\_CALOQA%'` under any database collation.
 * - `datasets (runnumber, segment)`: "everything of run R", asked by run-by-run bookkeeping.
 * - `files`' primary key (lfn, full_host_name, full_file_path) already serves the join on `lfn`.
 */
export const CATALOG_INDEXES = [
  'create index datasets_dsttype_run on datasets (dsttype text_pattern_ops, runnumber, tag, segment)',
  'create index datasets_run_segment on datasets (runnumber, segment)',
]

const DATASET_COLUMNS = [
  'filename', 'runnumber', 'segment', 'size', 'dataset', 'dsttype', 'events', 'firstevent', 'lastevent', 'tag', 'status',
] as const
const FILE_COLUMNS = ['lfn', 'full_host_name', 'full_file_path', 'time', 'size', 'md5'] as const

const COPY_SPECIAL = /[\\\t\n\r]/
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** One value in COPY's text format: backslash escapes for the four bytes it reserves, `\N` for null. */
function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N'
  const text = String(value)
  return COPY_SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : text
}

function copyLine<Row>(row: Row, columns: readonly (keyof Row)[]): string {
  let line = ''
  for (let i = 0; i < columns.length; i++) line += (i ? '\t' : '') + copyValue(row[columns[i]] as string | number | null)
  return line + '\n'
}

/** Writes to a COPY stream, waiting when the server is behind, so memory stays flat. */
async function send(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

async function finish(stream: Writable): Promise<void> {
  const done = once(stream, 'finish')
  stream.end()
  await done
}

export interface ScaleLoadResult {
  runs: number
  datasets: number
  files: number
}

/**
 * Creates the catalog tables in the connected (empty) database and fills them with a generated catalog
 * through COPY, one stream per table on two connections, keys and indexes built after the rows are in
 * (as a bulk load should), then VACUUM ANALYZE so the planner and index-only scans see a settled catalog.
 * `sql` must allow two connections. Holds one run's rows at a time.
 */
export async function copyCatalog(
  sql: postgres.Sql,
  shape: CatalogShape,
  progress: (message: string) => void = () => {},
): Promise<ScaleLoadResult> {
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  // Keys are built once at the end: maintaining them row by row would be most of the load's time.
  await sql.unsafe('alter table datasets drop constraint datasets_pkey')
  await sql.unsafe('alter table files drop constraint files_pkey')

  const started = Date.now()
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`
  const [datasetConn, fileConn] = [await sql.reserve(), await sql.reserve()]
  const result: ScaleLoadResult = { runs: 0, datasets: 0, files: 0 }
  try {
    for (const conn of [datasetConn, fileConn]) await conn.unsafe('set synchronous_commit = off')
    const datasetStream = await datasetConn.unsafe(`copy datasets (${DATASET_COLUMNS.join(', ')}) from stdin`).writable()
    const fileStream = await fileConn.unsafe(`copy files (${FILE_COLUMNS.join(', ')}) from stdin`).writable()
    let datasetText = ''
    let fileText = ''
    for (const run of generateCatalog(shape)) {
      for (const row of run.datasets) datasetText += copyLine<DatasetRow>(row, DATASET_COLUMNS)
      for (const row of run.files) fileText += copyLine<FileRow>(row, FILE_COLUMNS)
      result.runs++
      result.datasets += run.datasets.length
      result.files += run.files.length
      if (datasetText.length >= 1 << 20) await send(datasetStream, datasetText), (datasetText = '')
      if (fileText.length >= 1 << 20) await send(fileStream, fileText), (fileText = '')
      if (result.runs % 500 === 0) progress(`${result.runs} runs, ${result.datasets} datasets rows (${seconds()})`)
    }
    if (datasetText) await send(datasetStream, datasetText)
    if (fileText) await send(fileStream, fileText)
    await Promise.all([finish(datasetStream), finish(fileStream)])
    progress(`copied ${result.datasets} datasets and ${result.files} files rows in ${seconds()}; building keys and indexes`)

    // One table per connection, so the two builds run side by side.
    const build = async (conn: postgres.ReservedSql, statements: string[]) => {
      await conn.unsafe(`set maintenance_work_mem = '1GB'`)
      for (const statement of statements) await conn.unsafe(statement)
    }
    await Promise.all([
      build(datasetConn, ['alter table datasets add primary key (filename, dataset)', ...CATALOG_INDEXES]),
      build(fileConn, ['alter table files add primary key (lfn, full_host_name, full_file_path)']),
    ])
    progress(`keys and indexes built (${seconds()}); vacuum analyze`)
    await Promise.all([datasetConn.unsafe('vacuum analyze datasets'), fileConn.unsafe('vacuum analyze files')])
    progress(`loaded in ${seconds()}`)
  } finally {
    datasetConn.release()
    fileConn.release()
  }
  return result
}

/** What a bench database holds, written as its comment so a later bench can reuse it. */
function describeShape(shape: CatalogShape): string {
  const { seed, runs, segments, noise, root, fittingQa, traps } = shape
  return `caloprod bench catalog ${JSON.stringify({ seed, runs, segments, noise, root, fittingQa, traps })}`
}

/**
 * Creates (replacing any old one) the database `database` on the server `admin` is connected to and loads a
 * generated catalog of `shape` into it. With `reuse`, a database already holding that exact shape (its
 * comment says so) is kept as it is. `connect(database)` opens a client on the new database.
 * Returns whether it loaded.
 */
export async function loadScaleDatabase(
  admin: postgres.Sql,
  connect: (database: string) => postgres.Sql,
  database: string,
  shape: CatalogShape,
  options: { reuse?: boolean; progress?: (message: string) => void } = {},
): Promise<{ loaded: boolean; result?: ScaleLoadResult }> {
  const description = describeShape(shape)
  if (options.reuse) {
    const [existing] = await admin`
      select shobj_description(oid, 'pg_database') as comment from pg_database where datname = ${database}`
    if (existing?.comment === description) return { loaded: false }
  }
  // Loaded under a temporary name and renamed when complete, so `database` is never seen half loaded (a
  // load that was killed leaves only the temporary database, dropped by the next load).
  const loading = `${database}_loading`
  await admin`drop database if exists ${admin(loading)} with (force)`
  await admin`create database ${admin(loading)}`
  const sql = connect(loading)
  let result: ScaleLoadResult
  try {
    result = await copyCatalog(sql, shape, options.progress)
  } finally {
    await sql.end({ timeout: 5 })
  }
  await admin`comment on database ${admin(loading)} is ${admin.unsafe(quoteLiteral(description))}`
  await admin`drop database if exists ${admin(database)} with (force)`
  await admin`alter database ${admin(loading)} rename to ${admin(database)}`
  return { loaded: true, result }
}

/** COMMENT takes a literal, not a parameter; the description is our own JSON, quoted as SQL requires. */
function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}
