// Variable resolution in go-task v3's order (its compiler's getVariables), each layer overriding the one
// before and each value templated with everything resolved so far:
//   1. the process environment   2. special vars (ROOT_DIR, TASK, …)   3. the root `env:`
//   4. CLI vars (`task x VAR=y`, plus CLI_ARGS, CLI_FORCE, …), then the root `vars:` whose name is not a
//      CLI var (so `task FOO=bar` beats `FOO: '{{.FOO | default "foo"}}'` and later root vars see bar)
//   5. the caller's vars (`- task: x` / deps with `vars:`)   6. the task's own `vars:`
// Layer 6 overriding the CLI is go-task's documented precedence (issues #850 and #1759): a task var is only
// overridable when written as `'{{.VAR | default "…"}}'`.
import { isAbsolute, join } from 'node:path'
import { ExitCode, TaskfileError } from './errors.js'
import { commandEnv, runShell, type Writer } from './shell.js'
import { parseTemplate, renderTemplate, TemplateError, type Template } from './template.js'
import type { TaskDef, Taskfile, VarDef, VarList } from './types.js'
import { formatValue, GoFloat, type Value } from './value.js'

/** Everything variable resolution needs from the run. */
export interface VarContext {
  taskfile: Taskfile
  processEnv: Readonly<Record<string, string | undefined>>
  /** `VAR=value` arguments, in order. */
  cliVars: ReadonlyArray<readonly [string, string]>
  /** CLI_ARGS, CLI_FORCE, CLI_SILENT, CLI_VERBOSE. */
  cliSpecials: ReadonlyArray<readonly [string, Value]>
  userWorkingDir: string
  stderr: Writer
  verbose: boolean
  signal?: AbortSignal
  /** Results of `sh:` commands by command text: go-task runs each distinct command once per invocation. */
  shCache: Map<string, Promise<string>>
}

/** The call being resolved: the name it was called by and the vars it was called with. */
export interface CallVars {
  name: string
  vars: VarList
}

const templates = new Map<string, Template>()

/** Renders a template string (parsed once per distinct text), naming `where` in any error. */
export function render(source: string, scope: ReadonlyMap<string, Value>, where: string): string {
  if (!source.includes('{{')) return source
  try {
    let template = templates.get(source)
    if (!template) templates.set(source, (template = parseTemplate(source)))
    return renderTemplate(template, scope)
  } catch (err) {
    if (err instanceof TemplateError) {
      throw new TaskfileError(ExitCode.unknown, `task: template ${JSON.stringify(source)} in ${where}: ${err.message}`)
    }
    throw err
  }
}

/** go-task's filepathext.SmartJoin: an absolute path stays, a relative one is joined to `base`. */
export function smartJoin(base: string, path: string): string {
  return isAbsolute(path) ? join(path) : join(base, path)
}

/** Vars as environment entries (go-task's env.GetFromVars): only strings, numbers and booleans. */
export function varsAsEnv(vars: ReadonlyMap<string, Value>): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [k, v] of vars) if (v !== null) out.push([k, v instanceof GoFloat ? formatValue(v) : String(v)])
  return out
}

/** Runs a dynamic variable's command (once per distinct command text) and returns its trimmed stdout. */
export function runDynamic(ctx: VarContext, sh: string, dir: string, env: Record<string, string>): Promise<string> {
  let pending = ctx.shCache.get(sh)
  if (!pending) {
    pending = runShell(sh, { cwd: dir, env, stdio: 'capture', stderr: ctx.stderr, signal: ctx.signal }).then(
      ({ code, stdout }) => {
        if (code !== 0) throw new TaskfileError(ExitCode.unknown, `task: Command "${sh}" failed: exit status ${code}`)
        // Only one trailing newline goes, as in go-task.
        const result = stdout.replace(/\r?\n$/, '')
        if (ctx.verbose) ctx.stderr.write(`task: dynamic variable: ${JSON.stringify(sh)} result: ${JSON.stringify(result)}\n`)
        return result
      },
      (err: unknown) => {
        throw new TaskfileError(ExitCode.unknown, `task: Command "${sh}" failed: ${err instanceof Error ? err.message : String(err)}`)
      },
    )
    ctx.shCache.set(sh, pending)
  }
  return pending
}

/**
 * Resolves the vars a task sees (or, without a task, the Taskfile-level vars). With `evaluateSh` false
 * (--list, --summary) `sh:` vars are not run and read as "", and template errors give "" as go-task's
 * fast compile does.
 */
export async function resolveVars(
  ctx: VarContext,
  task: TaskDef | undefined,
  call: CallVars | undefined,
  evaluateSh: boolean,
): Promise<Map<string, Value>> {
  const { taskfile } = ctx
  const result = new Map<string, Value>()
  for (const [k, v] of Object.entries(ctx.processEnv)) if (v !== undefined) result.set(k, v)
  result.set('ROOT_TASKFILE', taskfile.path)
  result.set('ROOT_DIR', taskfile.dir)
  result.set('USER_WORKING_DIR', ctx.userWorkingDir)
  result.set('TASK', task?.name ?? '')
  result.set('TASK_DIR', task ? smartJoin(taskfile.dir, task.dir) : '')
  result.set('TASKFILE', task ? taskfile.path : '')
  result.set('TASKFILE_DIR', task ? taskfile.dir : '')
  result.set('ALIAS', call?.name ?? '')

  const set = async (name: string, def: VarDef, dir: string, where: string) => {
    const at = `${where}.${name}`
    try {
      if (def.kind === 'static') {
        result.set(name, typeof def.value === 'string' ? render(def.value, result, at) : def.value)
        return
      }
      const sh = render(def.sh, result, `${at}.sh`)
      if (!evaluateSh) {
        result.set(name, '')
        return
      }
      result.set(name, await runDynamic(ctx, sh, dir, commandEnv(ctx.processEnv, varsAsEnv(result))))
    } catch (err) {
      if (evaluateSh) throw err
      result.set(name, '')
    }
  }

  for (const [name, def] of taskfile.env) await set(name, def, taskfile.dir, 'env')
  const cliNames = new Set(ctx.cliVars.map(([k]) => k))
  for (const [name, value] of ctx.cliVars) await set(name, { kind: 'static', value }, taskfile.dir, 'the command line')
  for (const [name, value] of ctx.cliSpecials) result.set(name, value)
  for (const [name, def] of taskfile.vars) if (!cliNames.has(name)) await set(name, def, taskfile.dir, 'vars')
  if (!task || !call) return result
  for (const [name, def] of call.vars) await set(name, def, taskfile.dir, `the call of task "${task.name}"`)
  const dir = smartJoin(taskfile.dir, render(task.dir, result, `tasks.${task.name}.dir`))
  for (const [name, def] of task.vars) await set(name, def, dir, `tasks.${task.name}.vars`)
  return result
}
