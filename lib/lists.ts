import { mkdir, readdir, stat, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { formatDatasetList, LIST_WRITES, parseListName, runTagKey } from './files/dataset-list.js'
import { CaloprodError, InputError } from './errors.js'
import { writeFileIfChanged } from './files/atomic.js'
import { derivedFrom } from './files/derived-cache.js'
import { layout } from './files/layout.js'
import { writeMissingList } from './files/missing-list.js'
import { readProcessList } from './files/process-list.js'
import { readQueryRows } from './files/query-csv.js'
import { indexByRun, type RunTag } from './files/run-list.js'
import type { Log } from './log.js'
import { eachLimited } from './pool.js'
import { plural } from './plural.js'

/** Why a catalogued file is not used: not there, or there but empty (a zero-size ROOT file cannot be read). */
type MissingReason = 'absent' | 'empty' | 'not a file'

/**
 * Which of `paths` are missing (absent, empty or not a regular file), and why, with at most `concurrency` stats in
 * flight: on a network file system each is a round trip. Any other failure (EIO, EACCES, a stale handle) throws:
 * it says nothing about the file, which must not be dropped silently.
 */
export async function findMissing(paths: readonly string[], concurrency = 64, onChecked?: (checked: number) => void) {
  const missing = new Map<string, MissingReason>()
  let checked = 0
  await eachLimited(paths, concurrency, async (path) => {
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
      const why = `cannot check ${path}: ${err.code ?? err.message}; the file system may be unavailable: re-run the lists stage`
      throw new CaloprodError(why, 1, { cause: err })
    })
    if (!info) missing.set(path, 'absent')
    else if (!info.isFile()) missing.set(path, 'not a file')
    else if (info.size === 0) missing.set(path, 'empty')
    onChecked?.(++checked)
  })
  return missing
}

/** A catalogued file of a run: its segment's events (of the segment's DST twin) and its path. */
interface RunFile {
  segment: number
  events: number
  path: string
}

type RunFiles = RunTag & { files: RunFile[] }

/** What the lists stage will write. */
interface ListsPlan {
  /** Files catalogued on several hosts (two `files` rows for one lfn) of which one copy was listed. */
  copies: number
  /** One list per run that passes the threshold, by run: its usable paths, sorted, each once. */
  lists: (RunTag & { paths: string[] })[]
  /** Runs whose usable files hold too few events. */
  dropped: (RunTag & { events: number; files: number; missing: number })[]
  /** Catalogued files of the runs to process that are missing, sorted, each once. */
  missing: string[]
}

/**
 * One copy of each file: the catalog has a `files` row per host a file is on. Copies are the rows of one segment
 * whose paths end in the same name (the lfn); the first by path of those on disk is listed. Also counts the files
 * that had several copies.
 */
function chooseCopies(files: readonly RunFile[], missing: ReadonlyMap<string, MissingReason>): { files: RunFile[]; copies: number } {
  const byFile = new Map<string, RunFile[]>()
  for (const file of files) {
    const key = `${file.segment}/${basename(file.path)}`
    const group = byFile.get(key)
    if (group) group.push(file)
    else byFile.set(key, [file])
  }
  const chosen: RunFile[] = []
  let copies = 0
  for (const group of byFile.values()) {
    if (new Set(group.map((f) => f.path)).size > 1) copies++
    const onDisk = group.filter((f) => !missing.has(f.path))
    chosen.push(...(onDisk.length ? [onDisk.reduce((first, f) => (f.path < first.path ? f : first))] : group))
  }
  return { files: chosen, copies }
}

/**
 * Drops missing files (keeping one copy of a file on several hosts, see chooseCopies) and re-applies the threshold
 * to what remains, as the query does: the events of each segment that still has a file (counted once however many
 * files it has) must add up to more than `minEvents`; with no threshold, a run needs one file left.
 */
export function planLists(runs: readonly RunFiles[], missing: ReadonlyMap<string, MissingReason>, minEvents?: number) {
  const plan: ListsPlan = { lists: [], dropped: [], missing: [], copies: 0 }
  const missingPaths = new Set<string>()
  for (const run of [...runs].sort((a, b) => a.runnumber - b.runnumber)) {
    const segments = new Map<number, number>()
    const paths = new Set<string>()
    let missed = 0
    const { files, copies } = chooseCopies(run.files, missing)
    plan.copies += copies
    for (const file of files) {
      if (missing.has(file.path)) {
        missingPaths.add(file.path)
        missed++
        continue
      }
      segments.set(file.segment, file.events)
      paths.add(file.path)
    }
    const events = [...segments.values()].reduce((sum, count) => sum + count, 0)
    const enough = minEvents === undefined ? paths.size > 0 : events > minEvents
    if (enough) plan.lists.push({ runnumber: run.runnumber, tag: run.tag, paths: [...paths].sort() })
    else plan.dropped.push({ runnumber: run.runnumber, tag: run.tag, events, files: paths.size, missing: missed })
  }
  plan.missing = [...missingPaths].sort()
  return plan
}

/**
 * The runs of the process list with their files in reduce.csv (streamed; only those runs' rows are held). Throws
 * InputError when the two disagree: a run whose tag differs, or a run reduce.csv does not have.
 */
export async function runFilesOf(processPath: string, reducePath: string): Promise<RunFiles[]> {
  const processRows = await readProcessList(processPath)
  const byRun = indexByRun(processRows, processPath)
  const lineOf = (run: number) => processRows.indexOf(byRun.get(run)!) + 2
  const files = new Map(processRows.map((run) => [run.runnumber, [] as RunFile[]]))
  const outOfStep = 'the inputs are out of step: re-run the reduce and check stages'
  let line = 1
  for await (const row of readQueryRows(reducePath)) {
    line++ // Tags and paths hold no line breaks (QUERY_TABLE checks), so each row is one line.
    const entry = byRun.get(row.runnumber)
    if (!entry) continue
    if (entry.tag !== row.tag) {
      const why = `run ${row.runnumber} has tag ${entry.tag} here but ${row.tag} in ${reducePath}:${line}; ${outOfStep}`
      throw new InputError(processPath, lineOf(row.runnumber), why)
    }
    files.get(row.runnumber)!.push({ segment: row.segment, events: row.events, path: row.full_file_path })
  }
  return processRows.map(({ runnumber, tag }) => {
    const list = files.get(runnumber)!
    if (!list.length) {
      throw new InputError(processPath, lineOf(runnumber), `run ${runnumber} (tag ${tag}) has no files in ${reducePath}; ${outOfStep}`)
    }
    return { runnumber, tag, files: list }
  })
}

/**
 * runFilesOf, kept in the hidden `<output>/.lists-files.json` (derivedFrom): it reads all of reduce.csv, while
 * most nights only the disk changed (asked anew every time).
 */
async function cachedRunFiles(output: string, processPath: string, reducePath: string, log: Pick<Log, 'info'>): Promise<RunFiles[]> {
  const cachePath = layout.listsCache(output)
  const inputs = [processPath, reducePath]
  const { value: runs, kept } = await derivedFrom(cachePath, inputs, () => runFilesOf(processPath, reducePath), { version: 2 })
  if (kept) log.info(`the files of the ${plural(runs.length, 'run')} to process come from ${cachePath}: ${inputs.join(' and ')} are unchanged`)
  return runs
}

/**
 * The lists stage: each run of `<runtype>-process.csv`'s files of reduce.csv that are on disk, in
 * `datasets/<run>_<tag>.list`, unless too few events remain; the missing files in `<runtype>-missing.csv`; lists
 * not wanted any more removed. All is decided before anything is written, and only changed content is written.
 */
export async function runLists(
  options: { output: string; runType: string; minEvents: number | undefined },
  log: Log,
  deps: { concurrency?: number; onChecked?: (checked: number, total: number) => void } = {},
) {
  const processPath = layout.processCsv(options.output, options.runType)
  const reducePath = layout.reduceCsv(options.output)
  const runs = await cachedRunFiles(options.output, processPath, reducePath, log)
  const allPaths = [...new Set(runs.flatMap((run) => run.files.map((f) => f.path)))]
  const onChecked = deps.onChecked && ((checked: number) => deps.onChecked!(checked, allPaths.length))
  const missing = await findMissing(allPaths, deps.concurrency ?? 64, onChecked)
  const plan = planLists(runs, missing, options.minEvents)

  // Counted as the summary counts them: a missing copy of a file on disk on another host is not a missing file.
  const reasons = new Map<MissingReason, number>([['absent', 0], ['empty', 0], ['not a file', 0]])
  for (const path of plan.missing) reasons.set(missing.get(path)!, reasons.get(missing.get(path)!)! + 1)
  const described = [...reasons].filter(([, n]) => n > 0).map(([r, n]) => `${n} ${r}`).join(', ')
  const covered = missing.size - plan.missing.length
  const copies = covered ? `; ${covered} more missing paths are copies of files on disk on another host` : ''
  if (missing.size) log.info(`${plan.missing.length} of ${allPaths.length} catalogued paths are missing files: ${described}${copies}`)
  if (plan.copies) log.info(`${plan.copies === 1 ? '1 file is' : `${plan.copies} files are`} catalogued on several hosts: one copy of each listed, the first on disk by path`)
  for (const run of plan.dropped) {
    const why = options.minEvents === undefined
      ? 'none of its files is on disk'
      : `its ${plural(run.files, 'file')} on disk ${run.files === 1 ? 'holds' : 'hold'} ${run.events} events, not more than --min-events ${options.minEvents}`
    log.info(`run ${run.runnumber} (tag ${run.tag}): no list: ${why} (${run.missing} of its files are missing)`)
  }

  const dir = layout.datasetsDir(options.output)
  const wanted = new Set(plan.lists.map((l) => runTagKey(l.runnumber, l.tag)))
  await mkdir(dir, { recursive: true })
  // Only names this stage writes (parseListName): `066500_x.list` is a person's file, not a stale list.
  const stale = (await readdir(dir)).filter((name) => {
    const parsed = parseListName(name)
    return parsed !== undefined && !wanted.has(runTagKey(parsed.runnumber, parsed.tag))
  })
  const missingChanged = await writeMissingList(layout.missingCsv(options.output, options.runType), plan.missing)
  let written = 0
  await eachLimited(plan.lists, LIST_WRITES, async (list) => {
    if (await writeFileIfChanged(layout.listFile(options.output, list.runnumber, list.tag), formatDatasetList(list.paths))) written++
  })
  for (const name of stale) {
    await unlink(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    log.info(`removed ${join(dir, name)}: run and tag no longer to process`)
  }
  const counts = { lists: plan.lists.length, written, removed: stale.length, dropped: plan.dropped.length }
  return { ...counts, missing: plan.missing.length, changed: { missing: missingChanged } }
}
