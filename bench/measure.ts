// One measured process for the benches: wall time and peak RSS (GNU time when there, else /proc polled).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TIME = '/usr/bin/time'

/** One measured process: wall seconds, peak RSS in MB, exit code and the end of its stderr. */
export interface Sample {
  wall: number
  rssMb: number
  code: number | null
  stderr: string
}

/** Runs one process from the project root with `env` over this one's and measures its wall time and peak RSS. */
export function measure(command: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  const timeFile = join(tmpdir(), `.caloprod-bench-time.${process.pid}`)
  const useTime = existsSync(TIME)
  const argv = useTime ? [TIME, '-f', '%e %M', '-o', timeFile, ...command] : command
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    // Without GNU time: the peak resident set of the child as /proc reports it, polled.
    let peakKb = 0
    const poll = useTime
      ? undefined
      : setInterval(() => {
          readFile(`/proc/${child.pid}/status`, 'utf8').then(
            (status) => (peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))),
            () => {},
          )
        }, 20)
    child.on('error', reject)
    child.on('close', async (code) => {
      if (poll) clearInterval(poll)
      let wall = Number(process.hrtime.bigint() - started) / 1e9
      if (useTime) {
        // GNU time reports a failed command's status on a line of its own: the code is the child's.
        const [seconds, kb] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number)
        wall = seconds
        peakKb = kb
        await rm(timeFile, { force: true })
      }
      resolve({ wall, rssMb: peakKb / 1024, code, stderr: stderr.trim() })
    })
  })
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
