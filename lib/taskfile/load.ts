// Finds and reads a Taskfile, accepting exactly the subset this runner implements. go-task silently ignores
// keys it does not know; here any key, value shape or template construct outside the subset is an error
// that names it (exit 102), so the Taskfile cannot drift into something only one of the two runners runs.
import { readFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { parseDocument } from 'yaml'
import { ExitCode, TaskfileError } from './errors.js'
import { unsupportedGlob, type GlobEntry } from './glob.js'
import { locateTaskfile, type LocateOptions } from './locate.js'
import { parseTemplate, templateFields, TemplateError } from './template.js'
import type { CmdDef, DepDef, PreconditionDef, RequiredVar, RunMode, TaskDef, Taskfile, VarDef, VarList } from './types.js'
import { GoFloat, type Value } from './value.js'

/**
 * go-task special variables this runner does not provide. A template reading one is rejected rather
 * than rendered empty (go-task would render a value).
 */
export const UNSUPPORTED_SPECIAL_VARS = new Set([
  'TASK_EXE', 'TASK_VERSION', 'CLI_ARGS_LIST', 'CLI_OFFLINE', 'CLI_ASSUME_YES', 'CHECKSUM', 'TIMESTAMP', 'MATCH',
])

const ROOT_KEYS = ['version', 'vars', 'env', 'tasks']
const TASK_KEYS = [
  'desc', 'summary', 'label', 'aliases', 'cmds', 'cmd', 'deps', 'vars', 'env', 'dir',
  'sources', 'generates', 'method', 'status', 'preconditions', 'requires', 'run', 'silent', 'internal',
]

/** Where a bad value sits, for error messages: `tasks.build.cmds[2]`. */
class Invalid extends Error {}

const isMap = (v: unknown): v is Map<unknown, unknown> => v instanceof Map

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (isMap(v)) return 'a mapping'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'bigint' ? 'a number' : `a ${typeof v}`
}

function checkKeys(map: Map<unknown, unknown>, allowed: readonly string[], where: string): void {
  for (const key of map.keys()) {
    const k = String(key)
    if (!allowed.includes(k)) throw new Invalid(`${where}: unsupported key "${k}" (this runner supports: ${allowed.join(', ')})`)
  }
}

/** A scalar read as text, the way yaml.v3 decodes any scalar into a Go string field. */
function text(v: unknown, where: string): string {
  if (typeof v === 'string') return v
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw new Invalid(`${where}: expected a string, got ${describe(v)}`)
}

function optionalText(map: Map<unknown, unknown>, key: string, where: string): string {
  const v = map.get(key)
  return v === undefined || v === null ? '' : text(v, `${where}.${key}`)
}

function bool(v: unknown, where: string): boolean {
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw new Invalid(`${where}: expected true or false, got ${describe(v)}`)
  return v
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new Invalid(`${where}: expected a list, got ${describe(v)}`)
  return v
}

/** Parses a template once so an unsupported construct fails here, naming where it is. */
function checkTemplate(source: string, where: string): string {
  try {
    const fields = templateFields(parseTemplate(source))
    const special = fields.find((f) => UNSUPPORTED_SPECIAL_VARS.has(f))
    if (special) throw new TemplateError(`the go-task special variable .${special} is not provided by this runner`)
  } catch (err) {
    if (err instanceof TemplateError) throw new Invalid(`${where}: template ${JSON.stringify(source)}: ${err.message}`)
    throw err
  }
  return source
}

function scalarValue(v: unknown): Value {
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'number') return new GoFloat(v)
  return v as string | boolean | null
}

function varList(v: unknown, where: string): VarList {
  if (v === undefined || v === null) return []
  if (!isMap(v)) throw new Invalid(`${where}: expected a mapping of names to values, got ${describe(v)}`)
  const out: Array<readonly [string, VarDef]> = []
  for (const [key, value] of v) {
    const name = String(key)
    const at = `${where}.${name}`
    if (isMap(value)) {
      checkKeys(value, ['sh'], at)
      out.push([name, { kind: 'sh', sh: checkTemplate(text(value.get('sh'), `${at}.sh`), `${at}.sh`) }])
    } else if (Array.isArray(value)) {
      throw new Invalid(`${at}: list values are not supported by this runner`)
    } else {
      const val = scalarValue(value)
      if (typeof val === 'string') checkTemplate(val, at)
      out.push([name, { kind: 'static', value: val }])
    }
  }
  return out
}

function cmdDef(v: unknown, where: string): CmdDef {
  if (!isMap(v)) return { kind: 'cmd', cmd: checkTemplate(text(v, where), where), silent: false }
  checkKeys(v, ['cmd', 'task', 'vars', 'silent'], where)
  const silent = bool(v.get('silent'), `${where}.silent`)
  if (v.has('task')) {
    if (v.has('cmd')) throw new Invalid(`${where}: an entry cannot have both "cmd" and "task"`)
    return {
      kind: 'task',
      task: checkTemplate(text(v.get('task'), `${where}.task`), `${where}.task`),
      vars: varList(v.get('vars'), `${where}.vars`),
      silent,
    }
  }
  if (v.has('vars')) throw new Invalid(`${where}: "vars" is only supported with "task"`)
  return { kind: 'cmd', cmd: checkTemplate(text(v.get('cmd'), `${where}.cmd`), `${where}.cmd`), silent }
}

function depDef(v: unknown, where: string): DepDef {
  if (!isMap(v)) return { task: checkTemplate(text(v, where), where), vars: [], silent: false }
  checkKeys(v, ['task', 'vars', 'silent'], where)
  return {
    task: checkTemplate(text(v.get('task'), `${where}.task`), `${where}.task`),
    vars: varList(v.get('vars'), `${where}.vars`),
    silent: bool(v.get('silent'), `${where}.silent`),
  }
}

function globList(v: unknown, where: string): GlobEntry[] {
  return list(v, where).map((item, i) => {
    const at = `${where}[${i}]`
    let entry: GlobEntry
    if (isMap(item)) {
      checkKeys(item, ['exclude'], at)
      entry = { glob: text(item.get('exclude'), `${at}.exclude`), exclude: true }
    } else entry = { glob: text(item, at), exclude: false }
    checkTemplate(entry.glob, at)
    // Checked again after templating; a literal problem is reported now.
    const reason = unsupportedGlob(entry.glob.replace(/\{\{.*?\}\}/g, 'x'))
    if (reason) throw new Invalid(`${at}: ${JSON.stringify(entry.glob)}: ${reason}`)
    return entry
  })
}

function preconditions(v: unknown, where: string): PreconditionDef[] {
  return list(v, where).map((item, i) => {
    const at = `${where}[${i}]`
    if (!isMap(item)) {
      const sh = checkTemplate(text(item, at), at)
      return { sh, msg: `\`${sh}\` failed` }
    }
    checkKeys(item, ['sh', 'msg'], at)
    const sh = checkTemplate(text(item.get('sh'), `${at}.sh`), `${at}.sh`)
    const msg = optionalText(item, 'msg', at)
    return { sh, msg: msg === '' ? `${sh} failed` : checkTemplate(msg, `${at}.msg`) }
  })
}

function requires(v: unknown, where: string): RequiredVar[] {
  if (v === undefined || v === null) return []
  if (!isMap(v)) throw new Invalid(`${where}: expected a mapping with "vars", got ${describe(v)}`)
  checkKeys(v, ['vars'], where)
  return list(v.get('vars'), `${where}.vars`).map((item, i) => {
    const at = `${where}.vars[${i}]`
    if (!isMap(item)) return { name: text(item, at) }
    checkKeys(item, ['name', 'enum'], at)
    const name = text(item.get('name'), `${at}.name`)
    if (!item.has('enum')) return { name }
    return { name, enum: list(item.get('enum'), `${at}.enum`).map((e, j) => text(e, `${at}.enum[${j}]`)) }
  })
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: T, where: string, note = ''): T {
  if (v === undefined || v === null) return fallback
  const s = text(v, where)
  if (!(allowed as readonly string[]).includes(s)) {
    throw new Invalid(`${where}: "${s}" is not supported by this runner (use ${allowed.join(' or ')})${note}`)
  }
  return s as T
}

function taskDef(name: string, v: unknown): TaskDef {
  const where = `tasks.${name}`
  const base: TaskDef = {
    name, desc: '', summary: '', label: '', aliases: [], cmds: [], deps: [], vars: [], env: [], dir: '',
    sources: [], generates: [], method: 'checksum', status: [], preconditions: [], requires: [], run: 'always',
    silent: false, internal: false,
  }
  if (v === null || v === undefined) return base
  // Shorthands: a task that is one command, or a list of commands.
  if (!isMap(v)) {
    const items = Array.isArray(v) ? v : [v]
    return { ...base, cmds: items.map((c, i) => cmdDef(c, Array.isArray(v) ? `${where}[${i}]` : where)) }
  }
  checkKeys(v, TASK_KEYS, where)
  if (v.has('cmd') && v.has('cmds')) throw new Invalid(`${where}: a task cannot have both "cmd" and "cmds"`)
  const cmds = v.has('cmd')
    ? [cmdDef(v.get('cmd'), `${where}.cmd`)]
    : list(v.get('cmds'), `${where}.cmds`).map((c, i) => cmdDef(c, `${where}.cmds[${i}]`))
  const opt = (key: string) => checkTemplate(optionalText(v, key, where), `${where}.${key}`)
  return {
    name,
    desc: opt('desc'),
    summary: opt('summary'),
    label: opt('label'),
    aliases: list(v.get('aliases'), `${where}.aliases`).map((a, i) => text(a, `${where}.aliases[${i}]`)),
    cmds,
    deps: list(v.get('deps'), `${where}.deps`).map((d, i) => depDef(d, `${where}.deps[${i}]`)),
    vars: varList(v.get('vars'), `${where}.vars`),
    env: varList(v.get('env'), `${where}.env`),
    dir: opt('dir'),
    sources: globList(v.get('sources'), `${where}.sources`),
    generates: globList(v.get('generates'), `${where}.generates`),
    method: oneOf(v.get('method'), ['checksum', 'none'] as const, 'checksum', `${where}.method`, '; "timestamp" is not implemented'),
    status: list(v.get('status'), `${where}.status`).map((s, i) =>
      checkTemplate(text(s, `${where}.status[${i}]`), `${where}.status[${i}]`),
    ),
    preconditions: preconditions(v.get('preconditions'), `${where}.preconditions`),
    requires: requires(v.get('requires'), `${where}.requires`),
    run: oneOf<RunMode>(v.get('run'), ['always', 'once', 'when_changed'], 'always', `${where}.run`),
    silent: bool(v.get('silent'), `${where}.silent`),
    internal: bool(v.get('internal'), `${where}.internal`),
  }
}

/** Parses and validates Taskfile text; `path` is used for ROOT_DIR/TASKFILE and in messages. */
export function parseTaskfile(path: string, source: string, cwd = dirname(path)): Taskfile {
  const shown = relative(cwd, path) || path
  const fail = (message: string) => new TaskfileError(ExitCode.taskfileInvalid, `task: Failed to parse ${shown}: ${message}`)
  const doc = parseDocument(source, { intAsBigInt: true, merge: true, uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) throw fail(doc.errors[0].message)
  const root: unknown = doc.toJS({ mapAsMap: true, maxAliasCount: 1000 })
  try {
    if (!isMap(root)) throw new Invalid(`the document must be a mapping, got ${describe(root)}`)
    checkKeys(root, ROOT_KEYS, 'root')
    const version = root.get('version')
    if (version === undefined || version === null) throw new Invalid('"version" is required (this runner reads version 3)')
    if (!/^3(\.\d+){0,2}$/.test(String(version))) {
      throw new Invalid(`version ${JSON.stringify(String(version))} is not supported (this runner reads version 3)`)
    }
    const tasksNode = root.get('tasks')
    if (tasksNode !== undefined && tasksNode !== null && !isMap(tasksNode)) {
      throw new Invalid(`tasks: expected a mapping, got ${describe(tasksNode)}`)
    }
    const tasks = new Map<string, TaskDef>()
    for (const [key, value] of tasksNode ?? new Map()) tasks.set(String(key), taskDef(String(key), value))
    checkAliases(tasks)
    return { path, dir: dirname(path), vars: varList(root.get('vars'), 'vars'), env: varList(root.get('env'), 'env'), tasks }
  } catch (err) {
    if (err instanceof Invalid) throw fail(err.message)
    throw err
  }
}

function checkAliases(tasks: Map<string, TaskDef>): void {
  for (const task of tasks.values()) {
    for (const alias of task.aliases) {
      if (tasks.has(alias) && alias !== task.name) throw new Invalid(`tasks.${task.name}.aliases: "${alias}" is also a task name`)
    }
  }
}

/** Finds, reads and validates the Taskfile. */
export function loadTaskfile(options: LocateOptions): Taskfile {
  const path = locateTaskfile(options)
  return parseTaskfile(path, readFileSync(path, 'utf8'), options.cwd)
}
