// Where go-task is: the `task` binary on PATH, or in `$(go env GOPATH)/bin`, if it is a supported version;
// otherwise installed there with `go install` (pinned). Used by `npm run task` (tasks/task.ts) and `npm test`.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

/** The version installed when none is found; caloprod supports go-task v3.54.x (what its tests run under). */
export const GO_TASK_VERSION = '3.54.0'
const SUPPORTED = /^(?:Task version: )?v?3\.54\.\d+\b/
const MODULE = `github.com/go-task/task/v3/cmd/task@v${GO_TASK_VERSION}`
const SETUP = "see the README's set-up (a release binary, `go install`, or `npm i -g @go-task/cli`)"

/** Whether `binary` runs and says it is a supported go-task (Taskwarrior, also `task`, says 2.x or 3.x without "v3.54"). */
function supported(binary: string): boolean {
  const answer = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 60_000 })
  return answer.status === 0 && SUPPORTED.test(answer.stdout.trim())
}

/** `go env GOPATH`'s bin directory, or undefined without Go. */
function goBin(): string | undefined {
  const answer = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' })
  return answer.status === 0 && answer.stdout.trim() ? join(answer.stdout.trim().split(':')[0], 'bin') : undefined
}

/**
 * The path of a supported go-task, installing v3.54.0 with `go install` when none is found (one line on stderr
 * says so). Throws an Error of one line when there is none and Go is missing or the install fails.
 */
export function findGoTask(say: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  if (supported('task')) return 'task'
  const bin = goBin()
  if (bin && supported(join(bin, 'task'))) return join(bin, 'task')
  if (!bin) throw new Error(`caloprod: go-task v3.54 is not on PATH and Go is not installed to build it: ${SETUP}`)
  say(`caloprod: go-task v3.54 not found; installing it: go install ${MODULE}`)
  const install = spawnSync('go', ['install', MODULE], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (install.status !== 0 || !supported(join(bin, 'task'))) throw new Error(`caloprod: go install ${MODULE} failed: ${SETUP}`)
  return join(bin, 'task')
}
