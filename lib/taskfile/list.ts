// `--list`, `--list-all` and `--summary` output, laid out as go-task prints them (help.go, summary.go).
import type { CompiledTask } from './compile.js'
import type { Runner } from './run.js'
import type { Writer } from './shell.js'

export interface ListOptions {
  /** `--list-all`: tasks without a description too. */
  all: boolean
  /** `--silent`: names only, one per line. */
  namesOnly: boolean
}

/**
 * Go's text/tabwriter with go-task's settings (tab width 8, padding 6, spaces): every tab-terminated cell
 * is padded to the widest cell of its column among the adjacent lines that have that column.
 */
export function tabwrite(lines: readonly string[][], padding = 6): string {
  const width = (s: string) => Array.from(s).length
  const widths = lines.map(() => [] as number[])
  const layout = (col: number, start: number, end: number) => {
    let i = start
    while (i < end) {
      if (lines[i].length - 1 <= col) {
        i++
        continue
      }
      let j = i
      let max = 0
      while (j < end && lines[j].length - 1 > col) max = Math.max(max, width(lines[j++][col]))
      for (let k = i; k < j; k++) widths[k][col] = max + padding
      layout(col + 1, i, j)
      i = j
    }
  }
  layout(0, 0, lines.length)
  return lines
    .map((cells, i) => cells.map((cell, c) => (c < cells.length - 1 ? cell + ' '.repeat(widths[i][c] - width(cell)) : cell)).join(''))
    .join('\n')
}

/** Task names sorted as go-task sorts them: names without ":" first, then bytewise. */
export function sortTaskNames(names: readonly string[]): string[] {
  return [...names].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')) || Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** Prints the task list; returns false (go-task exits 1) when there is nothing to list. */
export async function listTasks(runner: Runner, names: readonly string[], options: ListOptions, stdout: Writer): Promise<boolean> {
  const tasks: CompiledTask[] = []
  for (const name of sortTaskNames(names)) {
    const task = await runner.compileForDisplay(name)
    if (task.def.internal || (!options.all && task.desc === '')) continue
    tasks.push(task)
  }
  if (options.namesOnly) {
    for (const t of tasks) stdout.write(t.def.name + '\n')
    return true
  }
  if (tasks.length === 0) {
    stdout.write(
      options.all ? 'task: No tasks available\n' : 'task: No tasks with description available. Try --list-all to list all tasks\n',
    )
    return false
  }
  stdout.write('task: Available tasks for this project:\n')
  const rows = tasks.map((t) => {
    const row = [`* ${t.def.name}: `, t.desc.replaceAll('\n', ' ')]
    if (t.def.aliases.length > 0) row.push(`(aliases: ${t.def.aliases.join(', ')})`)
    return row
  })
  stdout.write(tabwrite(rows) + '\n')
  return true
}

/** Prints one task's summary (`--summary`): name, summary or description, requires, deps, aliases, commands. */
export function printSummary(task: CompiledTask, stdout: Writer): void {
  const out = (s: string) => stdout.write(s)
  out(`task: ${task.name}\n\n`)
  if (task.summary !== '') {
    const lines = task.summary.split('\n')
    lines.forEach((line, i) => {
      if (i + 1 < lines.length || line !== '') out(line + '\n')
    })
  } else if (task.desc !== '') out(task.desc + '\n')
  else out('(task does not have description or summary)\n')
  if (task.def.requires.length > 0) {
    out('\nrequires:\n  vars:\n')
    for (const r of task.def.requires) out(`    - ${r.name}\n`)
  }
  if (task.deps.length > 0) {
    out('\ndependencies:\n')
    for (const d of task.deps) out(` - ${d.task}\n`)
  }
  if (task.def.aliases.length > 0) {
    out('\naliases:\n')
    for (const a of task.def.aliases) out(` - ${a}\n`)
  }
  if (task.cmds.length > 0) {
    out('\ncommands:\n')
    for (const c of task.cmds) out(c.kind === 'cmd' ? ` - ${c.cmd}\n` : ` - Task: ${c.task}\n`)
  }
}
