// A task with its templates evaluated for one call (go-task's compiledTask): label, desc, dir, sources,
// generates, env, cmds, deps, preconditions and status, all rendered with the call's variables.
import { ExitCode, TaskfileError } from './errors.js'
import { unsupportedGlob, type GlobEntry } from './glob.js'
import { commandEnv } from './shell.js'
import type { DepDef, PreconditionDef, TaskDef, VarDef, VarList } from './types.js'
import { formatValue, GoFloat, type Value } from './value.js'
import { render, resolveVars, runDynamic, smartJoin, type CallVars, type VarContext } from './vars.js'

export type CompiledCmd = { kind: 'cmd'; cmd: string; silent: boolean } | { kind: 'task'; task: string; vars: VarList; silent: boolean }

export interface CompiledTask {
  def: TaskDef
  /** The name go-task shows and keys the checksum file by: the label if there is one, else the task name. */
  name: string
  vars: Map<string, Value>
  /** Absolute directory the commands run in. */
  dir: string
  desc: string
  summary: string
  /** The Taskfile's and the task's `env:`, rendered (the process environment is added when running). */
  env: Array<[string, string]>
  cmds: CompiledCmd[]
  deps: DepDef[]
  sources: GlobEntry[]
  generates: GlobEntry[]
  preconditions: PreconditionDef[]
  status: string[]
}

/** Compiles `def` for `call`; `evaluateSh` false for --list/--summary, where nothing may run. */
export async function compileTask(ctx: VarContext, def: TaskDef, call: CallVars, evaluateSh: boolean): Promise<CompiledTask> {
  const vars = await resolveVars(ctx, def, call, evaluateSh)
  const where = `tasks.${def.name}`
  // `at` is relative to the task, unless it starts with "/" (then it is a root-level path like env.X).
  const r = (source: string, at: string): string => {
    try {
      return render(source, vars, at.startsWith('/') ? at.slice(1) : `${where}.${at}`)
    } catch (err) {
      if (evaluateSh) throw err
      return ''
    }
  }
  const renderVars = (list: VarList, at: string): VarList =>
    list.map(([name, v]): readonly [string, VarDef] => {
      if (v.kind === 'sh') return [name, { kind: 'sh', sh: r(v.sh, `${at}.${name}`) }]
      return [name, { kind: 'static', value: typeof v.value === 'string' ? r(v.value, `${at}.${name}`) : v.value }]
    })

  const dir = smartJoin(ctx.taskfile.dir, r(def.dir, 'dir'))
  const env = new Map<string, string>()
  for (const [list, at] of [[ctx.taskfile.env, '/env'], [def.env, 'env']] as const) {
    for (const [name, v] of list) {
      if (v.kind === 'static') {
        if (v.value === null) continue
        const value =
          typeof v.value === 'string' ? r(v.value, `${at}.${name}`) : v.value instanceof GoFloat ? formatValue(v.value) : String(v.value)
        env.set(name, value)
      } else if (evaluateSh) {
        env.set(name, await runDynamic(ctx, r(v.sh, `${at}.${name}.sh`), dir, commandEnv(ctx.processEnv, env)))
      }
    }
  }

  const globs = (list: readonly GlobEntry[], at: string): GlobEntry[] =>
    list.map((g, i) => {
      const glob = r(g.glob, `${at}[${i}]`)
      // A variable may bring in what the Taskfile itself could not contain ($, {a,b}, …).
      const reason = evaluateSh ? unsupportedGlob(glob) : undefined
      if (reason) throw new TaskfileError(ExitCode.taskfileInvalid, `task: ${where}.${at}[${i}]: ${JSON.stringify(glob)}: ${reason}`)
      return { glob, exclude: g.exclude }
    })

  return {
    def,
    name: r(def.label, 'label') || def.name,
    vars,
    dir,
    desc: r(def.desc, 'desc'),
    summary: r(def.summary, 'summary'),
    env: [...env],
    cmds: def.cmds.map((c, i): CompiledCmd =>
      c.kind === 'cmd'
        ? { kind: 'cmd', cmd: r(c.cmd, `cmds[${i}]`), silent: c.silent }
        : { kind: 'task', task: r(c.task, `cmds[${i}].task`), vars: renderVars(c.vars, `cmds[${i}].vars`), silent: c.silent },
    ),
    deps: def.deps.map((d, i) => ({ task: r(d.task, `deps[${i}]`), vars: renderVars(d.vars, `deps[${i}].vars`), silent: d.silent })),
    sources: globs(def.sources, 'sources'),
    generates: globs(def.generates, 'generates'),
    preconditions: def.preconditions.map((p, i) => ({ sh: r(p.sh, `preconditions[${i}].sh`), msg: r(p.msg, `preconditions[${i}].msg`) })),
    status: def.status.map((s, i) => r(s, `status[${i}]`)),
  }
}
