// Hand-written FileCatalog rows for the query's edge cases.
import type postgres from 'postgres'
import { CATALOG_SCHEMA, type DatasetRow, type FileRow } from '../demo/catalog.js'
import { insertDatasets, insertFiles } from '../demo/load.js'

export interface Segment {
  run: number
  tag: string
  segment: number
  /** Events of the DST_CALOFITTING twin; undefined: no twin. */
  events?: number
  /** Whether the HIST_CALOQA file exists in `datasets` (default true). */
  hist?: boolean
  /** Whether the HIST_CALOQA file has a `files` row (default true). */
  filed?: boolean
  path?: string
  time?: string
  dsttype?: string
}

const pad = (n: number, w: number) => String(n).padStart(w, '0')

/** Creates the catalog tables and inserts one HIST_CALOQA file (and its DST_CALOFITTING twin) per segment. */
export async function makeCatalog(sql: postgres.Sql, segments: readonly Segment[]): Promise<void> {
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  const datasets: DatasetRow[] = []
  const files: FileRow[] = []
  for (const s of segments) {
    const name = (type: string) => `${type}_run3auau_${s.tag}-${pad(s.run, 8)}-${pad(s.segment, 5)}.root`
    const base = { runnumber: s.run, segment: s.segment, size: 1, dataset: 'run3auau', firstevent: 0, lastevent: 0, tag: s.tag, status: 1 }
    if (s.events !== undefined) {
      datasets.push({ ...base, filename: name('DST_CALOFITTING'), dsttype: 'DST_CALOFITTING', events: s.events })
    }
    if (s.hist !== false) {
      const filename = name(s.dsttype ?? 'HIST_CALOQA')
      datasets.push({ ...base, filename, dsttype: s.dsttype ?? 'HIST_CALOQA', events: s.events ?? 0 })
      if (s.filed !== false) {
        files.push({
          lfn: filename, full_host_name: 'lustre', full_file_path: s.path ?? `/sphenix/lustre01/${filename}`,
          time: s.time ?? `2025-07-01 00:${pad(s.segment % 60, 2)}:00`, size: 1, md5: 'x',
        })
      }
    }
  }
  await insertDatasets(sql, datasets)
  await insertFiles(sql, files)
  // Statistics, as a catalog autovacuum keeps has them (test/demo/load.ts says why).
  await sql`analyze datasets`
  await sql`analyze files`
}
