// Types of the parts of the fake CDB (cdb-lib.mjs) that tests and benchmarks call directly.
export type Spec = string
export interface FakeIov {
  type: string
  spec: Spec
  start: number
  end?: number | null
}
export interface FakeCdbState {
  default?: Spec
  runs?: Record<string, Spec | Record<string, Spec>>
  iovs?: FakeIov[]
  /** The write side (cdb-write-lib.mjs): global tags, inserted payload IOVs, the token writes need. */
  globalTags?: Record<string, { status: 'unlocked' | 'locked' | 'frozen'; lists?: string[] }>
  /** Every payload IOV made; `list` null when detached; an open end is 9223372036854775807 as a string. */
  piovs?: {
    id: number
    type?: string
    globalTag?: string
    list?: string | null
    url: string
    checksum?: string
    size: number | null
    major_iov?: number | string
    minor_iov: number | string
    major_iov_end?: number | string
    minor_iov_end: number | string
    /** When the fake made it, as nopayloaddb writes `inserted`: naive UTC. */
    inserted?: string
  }[]
  nextPiov?: number
  writeToken?: string
}
export interface SelectedIov {
  start: bigint
  end: bigint
  url: string
  /** An inserted payload's own checksum and size. */
  checksum?: string
  size?: number | null
}
export declare const PAYLOAD_TYPES: readonly string[]
export declare const ALL_PAYLOAD_TYPES: readonly string[]
export declare const OPEN_END: bigint
export declare function specFor(state: FakeCdbState, type: string, run: number): Spec
export declare function selectIov(state: FakeCdbState, type: string, run: number, tagOf: (run: number) => string | undefined, globalTag?: string): SelectedIov | undefined
export declare const ZS_PAYLOAD_TYPES: readonly string[]
export declare function releasePayloadTypes(env?: Record<string, string | undefined>): readonly string[]
export declare const GLOBAL_TAG: string
export declare const OUTDATED_TAG: string
export declare function payloadFile(type: string, tag: string, run: number | string): string
export declare function payloadUrl(type: string, tag: string, run: number | string): string
export declare function missingUrl(type: string, run?: number | string): string
export declare function resolveSpec(spec: Spec, type: string, run: number, tag: string): string
export declare function lookup(state: FakeCdbState, type: string, run: number, tag: string): string
export declare function loadState(path: string | undefined): FakeCdbState
export declare function stateFromRunList(csvText: string, options?: { current?: number; outdated?: number; seed?: number }): FakeCdbState
export declare function calibrate(state: FakeCdbState, run: number | string, tag: string): FakeCdbState
export declare function saveState(path: string, state: FakeCdbState): void
/** A small seeded generator (mulberry32): the same seed gives the same numbers on every machine. */
export function seededRandom(seed: number): () => number
