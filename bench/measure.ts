// One measured process for the benches: wall time and peak RSS (GNU time when there, else /proc polled).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
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
  /** With `tree`: the process of the tree with the largest peak resident set, as /proc reported it last. */
  largest?: { command: string; rssMb: number }
}

/**
 * The peak resident set (VmHWM) and command line of every process below `root` now, merged into `seen` (pid → the
 * largest figure seen). A process that grows after the last poll and exits before the next is under-counted.
 */
async function pollTree(root: number, seen: Map<number, { command: string; kb: number }>): Promise<void> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)
  const children = new Map<number, number[]>()
  await Promise.all(pids.map(async (pid) => {
    // The parent is the second field after the command, which is in parentheses and may hold spaces.
    const ppid = Number(/\) \S+ (\d+)/.exec(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''))?.[1])
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }))
  const below: number[] = []
  for (let queue = [root]; queue.length > 0;) {
    const pid = queue.pop()!
    for (const child of children.get(pid) ?? []) below.push(child), queue.push(child)
  }
  await Promise.all(below.map(async (pid) => {
    const [status, cmdline] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]).catch(() => ['', ''])
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
    if (kb > (seen.get(pid)?.kb ?? 0)) seen.set(pid, { command: cmdline.split('\0').join(' ').trim(), kb })
  }))
}

/** Runs one process from the project root with `env` over this one's and measures its wall time and peak RSS. */
export function measure(command: string[], env: NodeJS.ProcessEnv = {}, options: { tree?: boolean } = {}): Promise<Sample> {
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
    // With `tree`: every process the command starts, polled for its own peak (GNU time gives only the largest).
    const tree = new Map<number, { command: string; kb: number }>()
    let polling = false
    const treePoll = options.tree
      ? setInterval(() => {
          if (polling || child.pid === undefined) return
          polling = true
          pollTree(child.pid, tree).finally(() => (polling = false))
          // VmHWM is a peak, so seldom is enough for processes that live a few tenths of a second; often would cost
          // the 2-core machine the time it measures.
        }, 200)
      : undefined
    child.on('error', reject)
    child.on('close', async (code) => {
      if (poll) clearInterval(poll)
      if (treePoll) clearInterval(treePoll)
      let wall = Number(process.hrtime.bigint() - started) / 1e9
      if (useTime) {
        // GNU time reports a failed command's status on a line of its own: the code is the child's.
        const [seconds, kb] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number)
        wall = seconds
        peakKb = kb
        await rm(timeFile, { force: true })
      }
      const top = [...tree.values()].sort((a, b) => b.kb - a.kb)[0]
      const largest = top && { command: top.command, rssMb: top.kb / 1024 }
      resolve({ wall, rssMb: peakKb / 1024, code, stderr: stderr.trim(), largest })
    })
  })
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
