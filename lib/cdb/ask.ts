import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PayloadType } from '../rules/calibrations.js'
import type { Env } from '../config/options.js'
import { CaloprodError } from '../errors.js'
import { ownTemp } from '../files/atomic.js'
import { writeError } from '../files/disk-full.js'
import type { Reasons } from '../files/process-list.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { eachLimited } from '../pool.js'
import { withRetry } from '../retry.js'
import { addCounts, emptyCounts, FilterDatasetsError, runFilterDatasets, type PayloadCounts } from './filter-datasets.js'
import { makeWorkDir } from './work-dir.js'

/**
 * `bin` is checked (checkFilterDatasets) and must ask exactly `payloadTypes` (its list is compiled in); `jobs` calls
 * at once, each (one shard) within `timeoutMs`, tried `attempts` times, pauses doubling from `retryBaseMs` (2 s).
 * `maxShardRuns` (250) keeps a call well within the timeout and a retry small. `onAnswered` is told the runs
 * answered of all `runs`; a retried shard starts again.
 */
export interface AskOptions {
  bin: string
  payloadTypes: readonly PayloadType[]
  jobs: number
  timeoutMs: number
  attempts: number
  env: Env
  log: Log
  retryBaseMs?: number
  maxShardRuns?: number
  tempRoot?: string
  signal?: AbortSignal
  sleep?: (ms: number) => Promise<void>
  onAnswered?: (answered: number, total: number) => void
}

/**
 * What the CDB said about a set of runs, merged over the calls that asked it: the runs with a payload missing or
 * outdated and, where the CDB was asked per run, which types; `calls` counts retries too.
 */
export interface CdbAnswer {
  keep: Set<number>
  reasons: Map<number, Reasons>
  counts: PayloadCounts
  calls: number
  shards: number
}

/** At least `jobs` shards (given that many runs) of at most `maxRuns` runs, even and in order: calls take as long. */
export function splitShards<T>(items: readonly T[], jobs: number, maxRuns: number): T[][] {
  const count = Math.min(items.length, Math.max(jobs, Math.ceil(items.length / maxRuns)))
  const at = (i: number) => Math.floor((i * items.length) / count)
  return Array.from({ length: count }, (_, i) => items.slice(at(i), at(i + 1)))
}

/** A shard's runs for a message: all of a small one, the first ten and a count otherwise. */
export function describeRuns(runs: readonly RunTag[]): string {
  const numbers = runs.map((r) => r.runnumber)
  if (numbers.length <= 12) return `run${numbers.length === 1 ? '' : 's'} ${numbers.join(', ')}`
  return `${numbers.length} runs ${numbers.slice(0, 10).join(', ')} … ${numbers[numbers.length - 1]} (all listed in the log)`
}

/**
 * Asks the CDB about `runs` as the seed does (filter-datasets), in shards `jobs` at a time, each in a directory of
 * its own, and merges the answers: the runs one sequential call would keep. A shard that fails every try stops the
 * others and throws, naming its runs.
 */
export async function askCdb(runs: readonly RunTag[], options: AskOptions): Promise<CdbAnswer> {
  const answer: CdbAnswer = { keep: new Set(), reasons: new Map(), counts: emptyCounts(), calls: 0, shards: 0 }
  if (runs.length === 0) return answer
  const shards = splitShards(runs, options.jobs, options.maxShardRuns ?? 250)
  answer.shards = shards.length
  const { log, attempts } = options
  const stopAll = new AbortController()
  const signal = options.signal ? AbortSignal.any([stopAll.signal, options.signal]) : stopAll.signal
  const work = ownTemp(await makeWorkDir(options.tempRoot ?? tmpdir()))
  let failure: CaloprodError | undefined
  const answeredBy = shards.map(() => 0)
  const askShard = async (shard: RunTag[], index: number) => {
    const name = `shard ${index + 1} of ${shards.length}`
    const onAnswered = options.onAnswered && ((count: number) => {
      answeredBy[index] = count
      options.onAnswered!(answeredBy.reduce((a, b) => a + b, 0), runs.length)
    })
    const result = await withRetry(
      async (attempt) => {
        const dir = join(work, `shard-${index + 1}-try-${attempt}`)
        await mkdir(dir)
        answer.calls++
        onAnswered?.(0)
        const { bin, payloadTypes, timeoutMs, env } = options
        return runFilterDatasets({ bin, payloadTypes, runs: shard, dir, timeoutMs, env, signal, onAnswered })
      },
      {
        attempts,
        baseMs: options.retryBaseMs ?? 2000,
        maxMs: 60000,
        retryable: (err) => err instanceof FilterDatasetsError && err.kind !== 'aborted' && !signal.aborted,
        onRetry: (err, attempt, delay) =>
          log.info(
            `${name} (${describeRuns(shard)}): try ${attempt} of ${attempts}: filter-datasets ${(err as Error).message}; ` +
              `trying again in ${(delay / 1000).toFixed(1)} s`,
          ),
        sleep: options.sleep,
      },
    ).catch((err: unknown) => {
      if (!(err instanceof FilterDatasetsError) || err.kind === 'aborted') throw err
      log.info(`${name} failed; its runs: ${shard.map((r) => r.runnumber).join(' ')}`)
      const tries = attempts === 1 ? '' : ` (tried ${attempts} times)`
      throw new CaloprodError(
        `CDB check failed for ${describeRuns(shard)}: filter-datasets ${err.message}${tries}; ` +
          'nothing was written; check that the CDB is reachable and re-run the check stage',
        1,
        { cause: err },
      )
    })
    for (const run of result.keep) answer.keep.add(run)
    addCounts(answer.counts, result.counts)
    if (result.unknown.length) log.info(`${name}: counters of payload types caloprod does not check: ${result.unknown.join(', ')}`)
    log.info(`${name} (${describeRuns(shard)}): ${result.keep.length} to process`)
  }
  // The first failure stops the shards in flight too (their filter-datasets are killed) and is the one reported.
  const askOrStop = (shard: RunTag[], index: number) =>
    askShard(shard, index).catch((err: unknown) => {
      failure ??= err instanceof CaloprodError && !(err instanceof FilterDatasetsError) ? err : stopped(err, work)
      stopAll.abort()
    })
  try {
    await eachLimited(shards, options.jobs, askOrStop, signal)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  throwIfInterrupted(options.signal)
  if (failure) throw failure
  return answer
}

/**
 * The line of an error of the check's own (not filter-datasets'): a file of its working folder that cannot be written
 * (a full TMPDIR, say) names that file and the room left, not the CDB.
 */
function stopped(err: unknown, work: string): CaloprodError {
  // A write's error names no file (fs/promises): the working folder, whose file system is TMPDIR's, stands for it.
  const described = writeError(err, (err as NodeJS.ErrnoException)?.path ?? work)
  if (described instanceof CaloprodError) {
    return new CaloprodError(`CDB check stopped: ${described.message} (its working folder ${work}: TMPDIR); nothing was written`, 1, { cause: err })
  }
  return new CaloprodError(`CDB check stopped: ${(err as Error).message}; nothing was written`, 1, { cause: err })
}

/** Stopped from outside (e.g. SIGTERM): its reason if that is ours, else a line saying so. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return
  throw signal.reason instanceof CaloprodError ? signal.reason : new CaloprodError('CDB check interrupted; nothing was written', 1)
}
