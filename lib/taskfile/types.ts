// The Taskfile as load.ts validates it: only what this runner implements, every template already parsed
// once (so a template this runner cannot evaluate fails at load time, whichever task is run).
import type { GlobEntry } from './glob.js'
import type { Value } from './value.js'

/** A variable definition: a static value or a `sh:` command whose trimmed stdout is the value. */
export type VarDef = { kind: 'static'; value: Value } | { kind: 'sh'; sh: string }

/** Variables in declaration order (order matters: each one is evaluated with the ones before it). */
export type VarList = ReadonlyArray<readonly [string, VarDef]>

/** One entry of `cmds`. */
export type CmdDef =
  | { kind: 'cmd'; cmd: string; silent: boolean }
  | { kind: 'task'; task: string; vars: VarList; silent: boolean }

/** One entry of `deps`. */
export interface DepDef {
  task: string
  vars: VarList
  silent: boolean
}

export interface PreconditionDef {
  sh: string
  msg: string
}

export interface RequiredVar {
  name: string
  /** Allowed values (`requires: {vars: [{name, enum: [...]}]}`), if restricted. */
  enum?: readonly string[]
}

export type RunMode = 'always' | 'once' | 'when_changed'

/** A task as written in the Taskfile (templates unevaluated). */
export interface TaskDef {
  name: string
  desc: string
  summary: string
  label: string
  aliases: readonly string[]
  cmds: readonly CmdDef[]
  deps: readonly DepDef[]
  vars: VarList
  env: VarList
  dir: string
  sources: readonly GlobEntry[]
  generates: readonly GlobEntry[]
  /** `checksum` (the default) or `none`. */
  method: 'checksum' | 'none'
  status: readonly string[]
  preconditions: readonly PreconditionDef[]
  requires: readonly RequiredVar[]
  run: RunMode
  silent: boolean
  internal: boolean
}

/** A loaded Taskfile. */
export interface Taskfile {
  /** Absolute path of the Taskfile. */
  path: string
  /** Its directory: ROOT_DIR, the default task dir, and where .task/ lives. */
  dir: string
  vars: VarList
  env: VarList
  tasks: ReadonlyMap<string, TaskDef>
}
