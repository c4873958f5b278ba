import { seededRandom, randomInt } from './random.js'

/** A row of the FileCatalog's `datasets` table. */
export interface DatasetRow {
  filename: string
  runnumber: number
  segment: number
  size: number
  dataset: string
  dsttype: string
  events: number
  firstevent: number
  lastevent: number
  tag: string
  status: number
}

/** A row of the FileCatalog's `files` table. */
export interface FileRow {
  lfn: string
  full_host_name: string
  full_file_path: string
  time: string
  size: number
  md5: string
}

/** The two tables as the production FileCatalog has them (the columns caloprod reads, and their keys). */
export const CATALOG_SCHEMA = [
  `create table datasets (
    filename text not null, runnumber integer, segment integer, size bigint, dataset text not null,
    dsttype text, events bigint, firstevent bigint, lastevent bigint, tag text, status integer,
    primary key (filename, dataset))`,
  `create table files (
    lfn text not null, full_host_name text not null, full_file_path text not null,
    time timestamp without time zone, size bigint, md5 text,
    primary key (lfn, full_host_name, full_file_path))`,
]

export interface CatalogShape {
  /** @default 20260101 */
  seed?: number
  /** Runs per run type. @default { run2pp: 8, run2auau: 6, run3auau: 30, run3pp: 0, run3oo: 0 } */
  runs?: Partial<Record<'run2pp' | 'run2auau' | 'run3auau' | 'run3pp' | 'run3oo', number>>
  /** Segments per run and tag, drawn between these. @default [25, 90] */
  segments?: [number, number]
  /** Prefixed to every path, so a demo can put the files under its own directory. @default '' */
  root?: string
  /** Rows of other dataset types per segment, as noise the queries must skip (at most 8). @default 0.5 */
  noise?: number
  /** HIST_CALOFITTINGQA files beside the QA files (the `current` rules list both), a few without a QA twin. @default true */
  fittingQa?: boolean
  /**
   * The catalog's traps (README "Rules"): skimmed QA files, aggregated segment-9999 files, empty tags, copies of a
   * file on a second host, tags reprocessed late in one run. Drawn from a generator of their own, so the rest of
   * the catalog is the same with or without them. @default true
   */
  traps?: boolean
}

interface Production {
  dataset: string
  tag: string
  /** The dst type stems: new entries `HIST_CALOQA`, older ones carry the dataset (`HIST_CALOQA_run2pp`). */
  suffix: string
  /** When the tag's production started; its files are timed from here. */
  start: number
}

/** Productions whose dataset column is the run type itself, as since Run 2 Au+Au: [tag, start] each. */
const underRunType = (runType: string, ...tags: [string, number][]): Production[] =>
  tags.map(([tag, start]) => ({ dataset: runType, tag, suffix: '', start }))

const PRODUCTIONS: Record<string, { first: number; productions: Production[] }> = {
  // Run 2 p+p: the older naming, the tag as the dataset and the run type in the dsttype's suffix.
  run2pp: {
    first: 47286,
    productions: [
      { dataset: 'ana446_2024p007', tag: 'ana446_2024p007', suffix: '_run2pp', start: Date.UTC(2024, 10, 4, 9) },
      { dataset: 'ana451_2024p009', tag: 'ana451_2024p009', suffix: '_run2pp', start: Date.UTC(2025, 0, 20, 14) },
    ],
  },
  run2auau: {
    first: 54128,
    productions: underRunType(
      'run2auau',
      ['ana462_2024p010_v001', Date.UTC(2025, 2, 3, 8)],
      ['new_newcdbtag_v005', Date.UTC(2025, 5, 11, 16)],
    ),
  },
  run3auau: {
    first: 66457,
    productions: underRunType(
      'run3auau',
      ['new_newcdbtag_v007', Date.UTC(2025, 6, 2, 10)],
      ['new_newcdbtag_v008', Date.UTC(2025, 8, 15, 12)],
      ['new_newcdbtag_v009', Date.UTC(2025, 10, 3, 7)],
    ),
  },
  run3pp: {
    first: 79146,
    productions: underRunType('run3pp', ['new_newcdbtag_v010', Date.UTC(2026, 0, 12, 9)], ['new_newcdbtag_v011', Date.UTC(2026, 2, 2, 9)]),
  },
  run3oo: {
    first: 82374,
    productions: underRunType('run3oo', ['new_newcdbtag_v010', Date.UTC(2026, 0, 20, 9)], ['new_newcdbtag_v011', Date.UTC(2026, 2, 9, 9)]),
  },
}

const OTHER_TYPES = [
  'DST_TRIGGERED_EVENT_seb03', 'DST_TRKR_CLUSTER', 'DST_STREAMING_EVENT_INTT2', 'HIST_TPCQA',
  'DST_CALO', 'DST_TRKR_SEED', 'HIST_JETQA', 'DST_MBD_EPD',
]

/** Formats epoch milliseconds plus microseconds as a timestamp literal. */
function timestamp(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros).padStart(6, '0')}`
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** A production file name, as sPHENIX names them: `<dsttype>_<dataset>_<tag>-<run:08d>-<segment:05d>.root`. */
function fileName(dsttype: string, p: Production, run: number, segment: number): string {
  const stem = p.suffix ? `${dsttype}_${p.tag}` : `${dsttype}_${p.dataset}_${p.tag}`
  return `${stem}-${pad(run, 8)}-${pad(segment, 5)}.root`
}

/** The directory sPHENIX's production puts a file in, grouped by hundreds of runs. */
function fileDir(root: string, runType: string, p: Production, dsttype: string, run: number): string {
  const low = Math.floor(run / 100) * 100
  return `${root}/sphenix/lustre01/sphnxpro/production/${runType}/physics/${p.tag}/${dsttype}/run_${pad(low, 8)}_${pad(low + 100, 8)}`
}

/**
 * Generates a synthetic FileCatalog, one run at a time (so a large one streams): per run type, runs in
 * its range with one to three production tags, segments whose DST_CALOFITTING twin carries the events
 * (runs below and above the threshold), a few HIST_CALOQA segments without a twin, a few twins
 * without histograms, and rows of other dataset types as noise.
 */
export function* generateCatalog(shape: CatalogShape = {}): Generator<{ datasets: DatasetRow[]; files: FileRow[] }> {
  const random = seededRandom(shape.seed ?? 20260101)
  const runsByType = { run2pp: 8, run2auau: 6, run3auau: 30, run3pp: 0, run3oo: 0, ...shape.runs }
  const [minSeg, maxSeg] = shape.segments ?? [25, 90]
  const root = shape.root ?? ''
  const noise = shape.noise ?? 0.5
  // The additions draw from their own sequence, so switching them leaves every other row as it was.
  const extra = seededRandom((shape.seed ?? 20260101) ^ 0x5eed)
  for (const [runType, count] of Object.entries(runsByType)) {
    const { first, productions } = PRODUCTIONS[runType]
    let run = first + randomInt(random, 0, 20)
    for (let i = 0; i < count; i++) {
      run += randomInt(random, 1, 12)
      const datasets: DatasetRow[] = []
      const files: FileRow[] = []
      // Most runs were produced by the newest tags; some by one, some by all of them.
      const tagCount = randomInt(random, 1, productions.length)
      const chosen = productions.slice(productions.length - tagCount)
      if (tagCount < productions.length && random() < 0.3) chosen.unshift(productions[0])
      for (const p of [...new Set(chosen)]) {
        const segments = randomInt(random, minSeg, maxSeg)
        let runStart = p.start + (run - first) * 47_000 + randomInt(random, 0, 3_600_000)
        // A tag reprocessed late in this run: its files are newer than the newer tag's, so the seed's rule (the
        // tag whose earliest file is latest) and today's (the tag with the newest QA file in the run) disagree.
        if ((shape.traps ?? true) && chosen.length > 1 && p === chosen[0] && extra() < 0.1) runStart += 200 * 86_400_000
        for (let segment = 0; segment < segments; segment++) {
          const events = randomInt(random, 2_000, 16_000)
          const firstevent = segment * 20_000
          const at = runStart + segment * 61_000 + randomInt(random, 0, 50_000)
          const add = (dsttype: string, fileEvents: number, host: string, size: number) => {
            const name = fileName(dsttype, p, run, segment)
            datasets.push({
              filename: name, runnumber: run, segment, size, dataset: p.dataset, dsttype, events: fileEvents,
              firstevent, lastevent: firstevent + fileEvents - 1, tag: p.tag, status: 1,
            })
            files.push({
              lfn: name, full_host_name: host, full_file_path: `${fileDir(root, runType, p, dsttype, run)}/${name}`,
              time: timestamp(at + size % 1000, randomInt(random, 0, 999_999)), size,
              md5: pad(Math.floor(random() * 2 ** 32), 10) + pad(segment, 5),
            })
          }
          const roll = random()
          if (roll >= 0.04) add(`DST_CALOFITTING${p.suffix}`, events, 'lustre', 900_000_000 + events * 11)
          if (roll < 0.04 || roll >= 0.07) add(`HIST_CALOQA${p.suffix}`, events, 'lustre', 2_000_000 + segment)
          for (const other of OTHER_TYPES) {
            if (random() < noise / OTHER_TYPES.length) add(`${other}${p.suffix}`, events, 'gpfs', 1_000_000)
          }
        }
      }
      if (shape.fittingQa ?? true) addFittingQa(datasets, files, extra)
      if (shape.traps ?? true) addTraps(datasets, files, extra)
      yield { datasets, files }
    }
  }
}

const at = (file: FileRow, ms: number) => timestamp(Date.parse(`${file.time.slice(0, 19).replace(' ', 'T')}Z`) + ms, 0)

/** A HIST_CALOFITTINGQA file beside each QA file of the run, and a few on segments that have no QA file. */
function addFittingQa(datasets: DatasetRow[], files: FileRow[], random: () => number): void {
  const byName = new Map(files.map((f) => [f.lfn, f]))
  const segment = (d: DatasetRow) => `${d.tag}/${d.segment}`
  const withQa = new Set(datasets.filter((d) => d.dsttype.startsWith('HIST_CALOQA')).map(segment))
  for (const d of [...datasets]) {
    const isQa = d.dsttype.startsWith('HIST_CALOQA')
    const lone = d.dsttype.startsWith('DST_CALOFITTING') && !withQa.has(segment(d)) && random() < 0.3
    if (!isQa && !lone) continue
    const qa = byName.get(d.filename)!
    const dsttype = d.dsttype.replace(/^(HIST_CALOQA|DST_CALOFITTING)/, 'HIST_CALOFITTINGQA')
    const filename = d.filename.replace(/^(HIST_CALOQA|DST_CALOFITTING)/, 'HIST_CALOFITTINGQA')
    datasets.push({ ...d, filename, dsttype, size: 1_500_000 + d.segment })
    files.push({
      ...qa,
      lfn: filename,
      full_file_path: qa.full_file_path.replace(/(HIST_CALOQA|DST_CALOFITTING)/g, 'HIST_CALOFITTINGQA'),
      time: at(qa, 1000),
      size: 1_500_000 + d.segment,
    })
  }
}

/** The catalog's traps, a few of each (see CatalogShape.traps). */
function addTraps(datasets: DatasetRow[], files: FileRow[], random: () => number): void {
  const byName = new Map(files.map((f) => [f.lfn, f]))
  const qa = datasets.filter((d) => d.dsttype.startsWith('HIST_CALOQA'))
  const tags = [...new Set(qa.map((d) => d.tag))]
  for (const tag of tags) {
    const ofTag = qa.filter((d) => d.tag === tag)
    const last = ofTag[ofTag.length - 1]
    // The aggregated per-run file: segment 9999, newer than every file of the run and tag.
    if (random() < 0.4) {
      const filename = last.filename.replace(/-\d{5}\.root$/, '-09999.root')
      const file = byName.get(last.filename)!
      datasets.push({ ...last, filename, segment: 9999, size: 50_000_000 })
      files.push({
        ...file,
        lfn: filename,
        full_file_path: file.full_file_path.replace(/-\d{5}\.root$/, '-09999.root'),
        time: at(file, 3_600_000),
        size: 50_000_000,
      })
    }
    for (const d of ofTag) {
      const file = byName.get(d.filename)!
      const roll = random()
      // A skimmed QA file beside the plain one: HIST_CALOQA% matches it, and the seed's join doubles its segment's events.
      if (roll < 0.03) {
        const filename = d.filename.replace('HIST_CALOQA', 'HIST_CALOQASKIMMED')
        datasets.push({ ...d, filename, dsttype: d.dsttype.replace('HIST_CALOQA', 'HIST_CALOQASKIMMED') })
        files.push({ ...file, lfn: filename, full_file_path: file.full_file_path.replace(/HIST_CALOQA/g, 'HIST_CALOQASKIMMED') })
      } else if (roll < 0.05) {
        // A copy on a second host (two files rows for one lfn), not on disk in the demo.
        files.push({
          ...file,
          full_host_name: 'gpfs',
          full_file_path: file.full_file_path.replace('/sphenix/lustre01/', '/sphenix/gpfs02/'),
        })
      }
    }
  }
  // A segment with an empty tag: never a run's tag.
  if (random() < 0.2 && qa.length) {
    const d = qa[0]
    const filename = d.filename.replace(`_${d.tag}-`, '_-')
    datasets.push({ ...d, filename, tag: '' })
    files.push({
      ...byName.get(d.filename)!,
      lfn: filename,
      full_file_path: byName.get(d.filename)!.full_file_path.replace(`_${d.tag}-`, '_-'),
    })
  }
}
