// A task's required variables (`requires: vars:`) and their allowed values, checked before it runs, as go-task does.
import type { CompiledTask } from './compile.js'
import { ExitCode, TaskfileError } from './errors.js'

/** go-task's check of a task's `requires`: every variable named is set (exit 206 otherwise). */
export function checkRequires(task: CompiledTask): void {
  const missing = task.def.requires.filter((r) => !task.vars.has(r.name))
  if (missing.length === 0) return
  const names = missing.map((r) => (r.enum ? `${r.name} (allowed values: [${r.enum.join(' ')}])` : r.name))
  throw new TaskfileError(
    ExitCode.taskMissingRequiredVars,
    `task: Task "${task.name}" cancelled because it is missing required variables: ${names.join(', ')}`,
  )
}

/** go-task's check of the `enum` of a required variable: its value is one of them (exit 207 otherwise). */
export function checkAllowedValues(task: CompiledTask): void {
  const bad = task.def.requires.filter((r) => {
    const value = task.vars.get(r.name)
    return r.enum !== undefined && typeof value === 'string' && !r.enum.includes(value)
  })
  if (bad.length === 0) return
  const lines = bad.map(
    (r) => `  - ${r.name} has an invalid value : '${String(task.vars.get(r.name))}' (allowed values : [${(r.enum ?? []).join(' ')}])`,
  )
  throw new TaskfileError(
    ExitCode.taskNotAllowedVars,
    `task: Task "${task.name}" cancelled because it is missing required variables:\n${lines.join('\n')}`,
  )
}
