// Types of the parts of the fake CDB (cdb-lib.mjs) that tests and benchmarks call directly.
export type Spec = string
export interface FakeCdbState {
  default?: Spec
  runs?: Record<string, Spec | Record<string, Spec>>
}
export declare const PAYLOAD_TYPES: readonly string[]
export declare const ZS_PAYLOAD_TYPES: readonly string[]
export declare function releasePayloadTypes(env?: Record<string, string | undefined>): readonly string[]
export declare const GLOBAL_TAG: string
export declare const OUTDATED_TAG: string
export declare function payloadFile(type: string, tag: string, run: number | string): string
export declare function payloadUrl(type: string, tag: string, run: number | string): string
export declare function missingUrl(type: string, run: number | string): string
export declare function resolveSpec(spec: Spec, type: string, run: number, tag: string): string
export declare function lookup(state: FakeCdbState, type: string, run: number, tag: string): string
export declare function loadState(path: string | undefined): FakeCdbState
export declare function stateFromRunList(csvText: string, options?: { current?: number; outdated?: number; seed?: number }): FakeCdbState
export declare function calibrate(state: FakeCdbState, run: number | string, tag: string): FakeCdbState
export declare function saveState(path: string, state: FakeCdbState): void
