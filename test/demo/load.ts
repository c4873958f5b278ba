import type postgres from 'postgres'
import { CATALOG_SCHEMA, generateCatalog, type CatalogShape, type DatasetRow, type FileRow } from './catalog.js'

/** Rows per INSERT. */
const BATCH = 4000

/**
 * Inserts rows through one JSON parameter: postgres.js would turn a timestamp parameter into a JS Date
 * and drop its microseconds, and the JSON needs no per-column bind parameters.
 */
export async function insertDatasets(sql: postgres.Sql, rows: readonly DatasetRow[]): Promise<void> {
  if (rows.length) {
    await sql`insert into datasets select * from json_populate_recordset(null::datasets, ${JSON.stringify(rows)}::text::json)`
  }
}

/** Inserts `files` rows, keeping `time` exactly as given (see insertDatasets). */
export async function insertFiles(sql: postgres.Sql, rows: readonly FileRow[]): Promise<void> {
  if (rows.length) await sql`insert into files select * from json_populate_recordset(null::files, ${JSON.stringify(rows)}::text::json)`
}

/**
 * Creates the FileCatalog tables in the connected database and fills them with a generated catalog.
 * Returns every `files` path, so a demo can create the files on disk.
 */
export async function loadCatalog(sql: postgres.Sql, shape: CatalogShape = {}): Promise<{ datasets: number; files: FileRow[] }> {
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  let datasets: DatasetRow[] = []
  let files: FileRow[] = []
  let datasetCount = 0
  const allFiles: FileRow[] = []
  const flush = async () => {
    await insertDatasets(sql, datasets)
    await insertFiles(sql, files)
    datasetCount += datasets.length
    datasets = []
    files = []
  }
  for (const run of generateCatalog(shape)) {
    datasets.push(...run.datasets)
    files.push(...run.files)
    allFiles.push(...run.files)
    if (datasets.length >= BATCH || files.length >= BATCH) await flush()
  }
  await flush()
  // Statistics, as a catalog that autovacuum keeps has: without them the planner takes every join for a nested loop.
  await sql`analyze datasets`
  await sql`analyze files`
  return { datasets: datasetCount, files: allFiles }
}
