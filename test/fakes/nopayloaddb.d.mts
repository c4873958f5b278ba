// Types of the fake nopayloaddb (nopayloaddb.mjs) for tests and benchmarks.
import type { FakeCdbState } from './cdb-lib.mjs'

export interface FakeNopayloaddbFaults {
  latencyMs?: number
  fail500?: number
  status?: number
  hang?: boolean
  html?: boolean
  truncate?: boolean
  failRun?: number | string
  /** Limits the faults to one route: "POST piov", "PUT piov_attach", ... */
  route?: string
  columns?: 8 | 9
}
export interface FakeRequest {
  method: string
  path: string
  query: string
  run: string | null
}
export interface FakeRouteContext {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: string
  json(): unknown
  load(): FakeCdbState
  save(state: FakeCdbState): void
  server: FakeNopayloaddb
}
export interface FakeRouteResult {
  status?: number
  type?: string
  headers?: Record<string, string>
  body?: string
}
export type FakeRoute = (ctx: FakeRouteContext) => FakeRouteResult | Promise<FakeRouteResult>
export interface FakeNopayloaddbOptions {
  state?: string
  host?: string
  port?: number
  /** The listen queue (Django's runserver: 10). @default 511 */
  backlog?: number
  apiRes?: string
  runList?: string
  globalTag?: string
  faults?: FakeNopayloaddbFaults
  routes?: Record<string, FakeRoute>
}
export interface FakeNopayloaddb {
  statePath: string | undefined
  runList: string | undefined
  globalTag: string
  faults: FakeNopayloaddbFaults
  requests: FakeRequest[]
  /** The exception line of each request the real server would have crashed on. */
  errors: string[]
  url: string
  apiUrl: string
  port: number
  setFaults(faults: FakeNopayloaddbFaults): void
  writeConfig(path: string, extra?: Record<string, unknown>): string
  close(): Promise<void>
}
export declare const OTHER_TYPE: string
export declare function exactJson(value: unknown): string
export declare const payloadIovs: FakeRoute
export declare function payloadIovRows(state: FakeCdbState, run: number, options?: { tagOf?: (run: number) => string | undefined; columns?: 8 | 9; globalTag?: string; other?: boolean }): unknown[][]
export declare function startFakeNopayloaddb(options?: FakeNopayloaddbOptions): Promise<FakeNopayloaddb>
export declare function cli(args?: string[]): Promise<void>
