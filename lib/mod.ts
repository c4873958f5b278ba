// The library a person scripts against (Deno's convention: one entry module): caloprod() and what its methods and
// readers return. The rest of lib/ is caloprod's own. See README.md, "Scripting caloprod".

export { caloprod, type Caloprod, type CaloprodInit } from './caloprod.js'
export type { Options } from './config/options.js'
export type { Log } from './log.js'

export type { StatusRecord } from './status.js'
export type { QueryRow } from './files/query-csv.js'
export type { RunTag } from './files/run-list.js'
export type { SettledRow } from './files/settled.js'
export type { ProcessEntry, Reasons } from './files/process-list.js'
export type { Job } from './condor/jobs-list.js'
export type { LedgerRow } from './files/ledger.js'
export type { UploadRow } from './upload/ledger.js'
export type { RunStory } from './why/story.js'

/** The path of every file of an output directory. */
export { layout } from './files/layout.js'
/** The payload types caloprod knows (a rule set keeps some current) and the CDB global tag of the maps. */
export { PAYLOAD_TYPES, GLOBAL_TAG, type PayloadType } from './rules/calibrations.js'
/** The run types and their run ranges; the rule sets that ship with caloprod. */
export { RUN_TYPES, runRange, type RunType } from './rules/run-types.js'
export { BUILTIN_RULES } from './rules/load.js'
export type { RuleSet } from './rules/types.js'
/**
 * Text caloprod did not write (a catalog's path, a hold reason, condor_submit's or the CDB's words) as a terminal
 * should show it: each control and bidi character as `\uXXXX`, as the stages print it; `visibleLine` also a line feed.
 */
export { visible, visibleLine } from './visible.js'
/** The errors a method may throw: each carries the exit code of DESIGN.md's contract (`exitCode`). */
export { CaloprodError, InputError, UsageError, LockedError } from './errors.js'
