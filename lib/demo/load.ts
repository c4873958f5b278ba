import type postgres from 'postgres'
import { CATALOG_SCHEMA, generateCatalog, type CatalogShape, type DatasetRow, type FileRow } from './catalog.js'

/** Rows per INSERT: under PostgreSQL's 65535 bind parameters for 11 columns. */
const BATCH = 4000

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
    if (datasets.length) await sql`insert into datasets ${sql(datasets)}`
    if (files.length) await sql`insert into files ${sql(files)}`
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
  return { datasets: datasetCount, files: allFiles }
}
