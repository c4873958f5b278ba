// The flags of a bench script. mri alone takes any flag, so a misspelt one (`--run 3`, `--peer_sql`) was passed over
// and the bench ran at its defaults, for minutes; and `--help` ran the whole bench. Here `--help` prints the usage and
// a flag the script does not know is one line, exit 2.
import mri from 'mri'

export interface BenchFlags {
  string?: string[]
  boolean?: string[]
  default?: Record<string, string | boolean>
  /** Whether the script takes words that are not flags (page files); default false. */
  positionals?: boolean
}

/** Parses `argv` (default: this process's arguments); exits 0 after `--help`, 2 on a flag or word it does not take. */
export function benchArgs(name: string, usage: string, flags: BenchFlags, argv = process.argv.slice(2)): mri.Argv {
  const known = new Set(['_', 'help', ...(flags.string ?? []), ...(flags.boolean ?? [])])
  const args = mri(argv, { string: flags.string, boolean: [...(flags.boolean ?? []), 'help'], default: flags.default })
  if (args.help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`)
    process.exit(0)
  }
  const unknown = Object.keys(args).find((key) => !known.has(key))
  const problem = unknown !== undefined
    ? `unknown flag ${unknown.length === 1 ? '-' : '--'}${unknown}`
    : !flags.positionals && args._.length ? `takes no argument "${args._[0]}"` : undefined
  if (problem) {
    process.stderr.write(`bench ${name}: ${problem} (--help lists its flags)\n`)
    process.exit(2)
  }
  return args
}

/** The one optional number of a script that takes `[N]` and no flags; exits as `benchArgs` does. */
export function benchCount(name: string, usage: string, fallback: number, argv = process.argv.slice(2)): number {
  if (argv.includes('--help')) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`)
    process.exit(0)
  }
  const value = Number(argv[0] ?? fallback)
  if (argv.length > 1 || !(Number.isInteger(value) && value > 0)) {
    process.stderr.write(`bench ${name}: takes one optional count, a whole number greater than 0, not "${argv.join(' ')}" (--help)\n`)
    process.exit(2)
  }
  return value
}

/** The names `--only` gives (comma-separated), each one of `known`; undefined without `--only`. Exits 2 on another. */
export function benchOnly(name: string, value: unknown, known: readonly string[]): Set<string> | undefined {
  if (value === undefined) return undefined
  const names = String(value).split(',')
  const wrong = names.find((n) => !known.includes(n))
  if (wrong !== undefined) {
    process.stderr.write(`bench ${name}: --only "${wrong}" is none of ${known.join(', ')}\n`)
    process.exit(2)
  }
  return new Set(names)
}
