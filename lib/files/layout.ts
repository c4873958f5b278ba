import { join } from 'node:path'

/**
 * The names of every file in the output directory (DESIGN.md's contract), in one place so stages,
 * the Taskfile's documentation and the tests agree.
 */
export const layout = {
  queryCsv: (output: string) => join(output, 'query.csv'),
  /** What the last query.csv was made from (lib/catalog/fingerprint.ts): a quiet night compares it. */
  queryStamp: (output: string) => join(output, 'query.fingerprint'),
  /** `<runtype>.csv`: the seed's name; filter-datasets derives `<runtype>-process.csv` from it. */
  runListCsv: (output: string, runType: string) => join(output, `${runType}.csv`),
  reduceCsv: (output: string) => join(output, 'reduce.csv'),
  processCsv: (output: string, runType: string) => join(output, `${runType}-process.csv`),
  /** The check stage's cache of settled runs. */
  settledCsv: (output: string, runType: string) => join(output, `${runType}-settled.csv`),
  /** The check stage's counts per payload type (missing, outdated), for the report. */
  checkJson: (output: string, runType: string) => join(output, `${runType}-check.json`),
  missingCsv: (output: string, runType: string) => join(output, `${runType}-missing.csv`),
  datasetsDir: (output: string) => join(output, 'datasets'),
  listFile: (output: string, run: number, tag: string) => join(output, 'datasets', `${run}_${tag}.list`),
  condorDir: (output: string) => join(output, 'condor'),
  submissionsDir: (output: string) => join(output, 'submissions'),
  ledgerCsv: (output: string) => join(output, 'submissions.csv'),
  /** The upload stage's ledger. */
  uploadsCsv: (output: string) => join(output, 'uploads.csv'),
  lockFile: (output: string) => join(output, '.caloprod.lock'),
  /** The run type the directory belongs to, named by the first stage that wrote there (run-type-mark.ts). */
  runTypeMark: (output: string) => join(output, '.caloprod.run-type'),
  logDir: (output: string) => join(output, 'log'),
  jobOutputDir: (output: string) => join(output, 'output'),
  reportHtml: (output: string) => join(output, 'report.html'),
  /** What lists and the report derive from reduce.csv, kept while their inputs are the same files (derived-cache.ts). */
  listsCache: (output: string) => join(output, '.lists-files.json'),
  reportCache: (output: string) => join(output, '.report-runs.json'),
  /** Each tag's earliest file time in query.csv (reduce's survey), kept for `why` while query.csv is the same file. */
  tagTimesCache: (output: string) => join(output, '.query-tag-times.json'),
} as const
