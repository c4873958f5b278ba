// Command-line parsing with go-task's flags and pflag's rules: flags anywhere before `--`, `--flag=value`,
// `--flag value`, clustered short flags (`-sf`, `-dDIR`), `VAR=value` arguments as variables, everything
// after `--` as CLI_ARGS. An unknown flag is a usage error (exit 2), as with pflag.
import { ExitCode, TaskfileError } from './errors.js'

/** What the command line asked for, as plain data. */
export interface CliOptions {
  help: boolean
  version: boolean
  list: boolean
  listAll: boolean
  status: boolean
  force: boolean
  verbose: boolean
  silent: boolean
  dry: boolean
  summary: boolean
  exitCode: boolean
  dir?: string
  taskfile?: string
  /** Task names in order (empty: the default task). */
  tasks: string[]
  /** `NAME=value` arguments in order. */
  vars: Array<[string, string]>
  /** Arguments after `--`. */
  cliArgs: string[]
}

type BoolKey = 'help' | 'version' | 'list' | 'listAll' | 'status' | 'force' | 'verbose' | 'silent' | 'dry' | 'summary' | 'exitCode'
type StringKey = 'dir' | 'taskfile'

interface FlagSpec {
  long: string
  short?: string
  key: BoolKey | StringKey
  kind: 'bool' | 'string'
  help: string
}

/** The flags this runner implements (a subset of go-task's, same names and meanings). */
export const FLAGS: readonly FlagSpec[] = [
  { long: 'help', short: 'h', key: 'help', kind: 'bool', help: 'Shows Task usage.' },
  { long: 'version', key: 'version', kind: 'bool', help: 'Show Task version.' },
  { long: 'list', short: 'l', key: 'list', kind: 'bool', help: 'Lists tasks with description of current Taskfile.' },
  { long: 'list-all', short: 'a', key: 'listAll', kind: 'bool', help: 'Lists tasks with or without a description.' },
  {
    long: 'status',
    key: 'status',
    kind: 'bool',
    help: 'Exits with non-zero exit code if any of the given tasks is not up-to-date (with --verbose: says why).',
  },
  { long: 'force', short: 'f', key: 'force', kind: 'bool', help: 'Forces execution even when the task is up-to-date.' },
  { long: 'verbose', short: 'v', key: 'verbose', kind: 'bool', help: 'Enables verbose mode.' },
  { long: 'silent', short: 's', key: 'silent', kind: 'bool', help: 'Disables echoing.' },
  {
    long: 'dry',
    short: 'n',
    key: 'dry',
    kind: 'bool',
    help: 'Compiles and prints tasks in the order that they would be run, without executing them.',
  },
  { long: 'summary', key: 'summary', kind: 'bool', help: 'Show summary about a task.' },
  { long: 'exit-code', short: 'x', key: 'exitCode', kind: 'bool', help: 'Pass-through the exit code of the task command.' },
  { long: 'dir', short: 'd', key: 'dir', kind: 'string', help: 'Sets the directory in which Task will execute and look for a Taskfile.' },
  { long: 'taskfile', short: 't', key: 'taskfile', kind: 'string', help: 'Choose which Taskfile to run. Defaults to "Taskfile.yml".' },
]

/** The usage text printed by --help and after a usage error. */
export function usage(): string {
  const rows = FLAGS.map((f) => [`  ${f.short ? `-${f.short}, ` : '    '}--${f.long}${f.kind === 'string' ? ' string' : ''}`, f.help])
  const width = Math.max(...rows.map(([a]) => a.length)) + 3
  return [
    'Usage: task [flags...] [task...] [VAR=value...] [-- CLI_ARGS...]',
    '',
    "Runs the specified task(s) with caloprod's built-in runner for the subset of go-task v3 its Taskfile uses.",
    'Falls back to the "default" task if no task name was specified.',
    '',
    'Options:',
    ...rows.map(([a, b]) => a.padEnd(width) + b),
    '',
  ].join('\n')
}

function parseBool(value: string, flag: string): boolean {
  if (/^(1|t|T|true|TRUE|True)$/.test(value)) return true
  if (/^(0|f|F|false|FALSE|False)$/.test(value)) return false
  throw new TaskfileError(
    ExitCode.usage,
    `invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  )
}

/** Parses the arguments after the program name. Throws a TaskfileError with code 2 on a usage error. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const opts: CliOptions = {
    help: false, version: false, list: false, listAll: false, status: false, force: false, verbose: false,
    silent: false, dry: false, summary: false, exitCode: false, tasks: [], vars: [], cliArgs: [],
  }
  const setFlag = (spec: FlagSpec, value: string | boolean) => {
    if (spec.kind === 'bool') opts[spec.key as BoolKey] = value as boolean
    else opts[spec.key as StringKey] = value as string
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      opts.cliArgs = argv.slice(i + 1)
      break
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = arg.slice(2, eq < 0 ? undefined : eq)
      const spec = FLAGS.find((f) => f.long === name)
      if (!spec) throw new TaskfileError(ExitCode.usage, `unknown flag: --${name}`)
      if (spec.kind === 'bool') setFlag(spec, eq < 0 ? true : parseBool(arg.slice(eq + 1), `--${name}`))
      else if (eq >= 0) setFlag(spec, arg.slice(eq + 1))
      else if (i + 1 < argv.length) setFlag(spec, argv[++i])
      else throw new TaskfileError(ExitCode.usage, `flag needs an argument: --${name}`)
      continue
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const spec = FLAGS.find((f) => f.short === arg[j])
        if (!spec) throw new TaskfileError(ExitCode.usage, `unknown shorthand flag: '${arg[j]}' in ${arg}`)
        if (spec.kind === 'bool') {
          if (arg[j + 1] === '=') {
            setFlag(spec, parseBool(arg.slice(j + 2), `-${spec.short}`))
            break
          }
          setFlag(spec, true)
          continue
        }
        const rest = arg.slice(j + 1).replace(/^=/, '')
        if (rest !== '') setFlag(spec, rest)
        else if (i + 1 < argv.length) setFlag(spec, argv[++i])
        else throw new TaskfileError(ExitCode.usage, `flag needs an argument: '${spec.short}' in -${spec.short}`)
        break
      }
      continue
    }
    const eq = arg.indexOf('=')
    if (eq >= 0) opts.vars.push([arg.slice(0, eq), arg.slice(eq + 1)])
    else opts.tasks.push(arg)
  }
  return opts
}
