// Types of the write side of the fake nopayloaddb (cdb-write-lib.mjs) for tests.
import type { FakeCdbState } from './cdb-lib.mjs'
import type { FakeRoute } from './nopayloaddb.mjs'

export declare const MAXSIZE: bigint
export declare const DJANGO_500: string
export declare class Refusal extends Error {
  status: number
  body: unknown
  constructor(status: number, detail: unknown)
}
export declare class Crash extends Error {}
export declare function globalTags(state: FakeCdbState): NonNullable<FakeCdbState['globalTags']>
export declare function payloadListsOf(state: FakeCdbState, tag: string): Record<string, string>
export declare function globalTagList(state: FakeCdbState, readTag?: string): Record<string, unknown>[]
export declare function createPiov(state: FakeCdbState, body: unknown): Record<string, unknown>
export declare function attachPiov(state: FakeCdbState, body: unknown, readTag?: string): Record<string, unknown>
export declare function searchPiovs(state: FakeCdbState, query: URLSearchParams): Record<string, unknown>
export declare function checkWriteToken(state: FakeCdbState, authorization: string | undefined): void
export declare const writeRoutes: Record<string, FakeRoute>
export declare function md5(text: string): string
