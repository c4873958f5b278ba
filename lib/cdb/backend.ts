import type { CdbBackendName, Env } from '../config/options.js'
import type { PayloadType } from '../rules/calibrations.js'
import { UsageError } from '../errors.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { askCdb, type CdbAnswer } from './ask.js'
import { checkFilterDatasets } from './filter-datasets.js'
import { HttpClient } from './http.js'
import { NOPAYLOADCLIENT_CONF, readNopayloadConfig } from './nopayload-config.js'
import { redactUrl } from '../redact.js'
import { guardedAsk, type KnownCurrent } from './outage-guard.js'
import { askRest } from './rest.js'

/**
 * How the check stage asks the CDB: `jobs` filter-datasets processes or requests in flight (undefined: 4, or 16 for
 * rest); `timeout` seconds for one filter-datasets call or all of a rest ask; `cdbTries` of a shard or a request.
 */
export interface CdbChoice {
  cdb: CdbBackendName
  jobs: number | undefined
  timeout: number
  cdbTries: number
  binFilterDatasets: string | undefined
  cdbUrl: string | undefined
  globalTag: string
  payloadTypes: readonly PayloadType[]
}

/** What the check stage gets besides its options; all but `env` are there for tests and benchmarks. */
export interface CdbDeps {
  env: Env
  retryBaseMs?: number
  maxShardRuns?: number
  tempRoot?: string
  signal?: AbortSignal
  onAnswered?: (answered: number, total: number) => void
}

/** Longest one HTTP request may take unless --timeout is shorter: a healthy nopayloaddb answers in milliseconds. */
export const REQUEST_TIMEOUT_MS = 30000

/** The API root to ask: --cdb-url, else NOPAYLOADCLIENT_CONF's; neither is a usage error naming both. */
export async function resolveApiUrl(cdbUrl: string | undefined, env: Env): Promise<string> {
  if (cdbUrl) return cdbUrl
  const conf = await readNopayloadConfig(env)
  if (conf) return conf.apiUrl
  throw new UsageError(
    `--cdb rest needs nopayloaddb's address: set ${NOPAYLOADCLIENT_CONF} to a nopayloadclient configuration file ` +
      '(as the sPHENIX setup does) or pass --cdb-url URL (CALOPROD_CDB_URL), e.g. http://localhost:8000/api/cdb_rest/',
  )
}

/**
 * Prepares the chosen backend: for filter-datasets, a checked binary, and the server it asks (NOPAYLOADCLIENT_CONF's,
 * else --cdb-url) if one is named, to tell an outage from outdated maps (guardedAsk); for rest, the API root.
 * Fails here, before anything is read or asked, when either is missing or unusable. `target` says what is asked, for
 * the log; `known` are the runs the settled cache found current, which an outage would call outdated too.
 */
export async function openCdb(choice: CdbChoice, log: Log, deps: CdbDeps): Promise<{
  name: CdbBackendName
  target: string
  ask(runs: readonly RunTag[], known?: KnownCurrent): Promise<CdbAnswer>
}> {
  const { payloadTypes, globalTag, cdbTries: attempts } = choice
  const { retryBaseMs, signal, onAnswered } = deps
  const timeoutMs = Math.min(REQUEST_TIMEOUT_MS, choice.timeout * 1000)
  if (choice.cdb === 'filter-datasets') {
    const bin = await checkFilterDatasets(choice.binFilterDatasets)
    // The server filter-datasets itself asks: NOPAYLOADCLIENT_CONF's, which it reads too.
    const conf = await readNopayloadConfig(deps.env)
    const apiUrl = conf?.apiUrl ?? choice.cdbUrl
    // Where nopayloadclient looks for the payload files: named when it misses answers the server gives.
    const readDirs = conf?.readDirs && { dirs: conf.readDirs, file: conf.file }
    const onRetry = (message: string) => log.info(message)
    // Its questions as --cdb rest asks: --jobs at a time (16 unless given), each step's within --timeout.
    const jobs = choice.jobs ?? 16
    const server = !apiUrl ? undefined : {
      apiUrl, jobs, deadlineMs: choice.timeout * 1000, signal,
      client: (stop: AbortSignal) => new HttpClient({ server: apiUrl, maxInFlight: jobs, timeoutMs, attempts, retryBaseMs, signal: stop, onRetry }),
    }
    const check = { server, readDirs, globalTag, payloadTypes, log }
    return {
      name: 'filter-datasets',
      target: apiUrl ? `${bin} (asking ${redactUrl(apiUrl)} itself before and after)` : `${bin} (${NOPAYLOADCLIENT_CONF} not set)`,
      ask: (runs, known = { runs: new Set(), cache: '' }) =>
        guardedAsk(runs, known, check, () =>
          askCdb(runs, {
            bin, payloadTypes, jobs: choice.jobs ?? 4, timeoutMs: choice.timeout * 1000, attempts, env: deps.env, log,
            retryBaseMs, maxShardRuns: deps.maxShardRuns, tempRoot: deps.tempRoot, signal, onAnswered,
          })),
    }
  }
  const apiUrl = await resolveApiUrl(choice.cdbUrl, deps.env)
  return {
    name: 'rest',
    target: `${apiUrl} (global tag ${globalTag})`,
    ask: (runs) =>
      askRest(runs, {
        apiUrl, globalTag, payloadTypes, jobs: choice.jobs ?? 16, attempts, log, timeoutMs,
        deadlineMs: choice.timeout * 1000, retryBaseMs, signal, onAnswered,
      }),
  }
}
