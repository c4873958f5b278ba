// Killed at any moment, as a reusable loop: run something once cleanly, then many times on fresh copies of its
// inputs, each SIGKILLed after a random delay and run again; after each kill nothing partial is visible under a
// real name, and after the re-run the outputs equal the clean run's.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { seededRandom } from '../demo/random.js'
import type { ScriptResult } from './run-script.js'
import { partialFiles, snapshot } from './snapshot.js'

export interface KillCase {
  /** For messages and the work directory's name. */
  name: string
  kills: number
  /** Fills a fresh directory with the inputs (and any state, such as a fake queue) of one run. */
  prepare: (dir: string) => void | Promise<void>
  /** Starts one run in `dir`; `child` is what gets killed. */
  start: (dir: string) => { child: ChildProcess; done: Promise<ScriptResult> }
  /** The output directory inside `dir` (default `dir` itself). */
  output?: (dir: string) => string
  /** Kill the child's whole process group (it was started detached): a crash of everything it started. */
  group?: boolean
  /** Makes a snapshot comparable between runs (drops or rewrites what legitimately differs, e.g. times). */
  normalize?: (files: Record<string, string>) => Record<string, string>
  /** More checks right after a kill, before the re-run: `now` and `clean` are normalized snapshots of the outputs. */
  afterKill?: (t: Test, dir: string, i: number, seen: { now: Record<string, string>; clean: Record<string, string> }) => void | Promise<void>
  /** More checks after the re-run (no duplicate submission, ...). */
  afterRerun?: (t: Test, dir: string, i: number) => void | Promise<void>
  /** Run cleanly twice and time the faster (default true): a cold first run would put kills after the end. */
  warmup?: boolean
  /** Seed of the random delays, so a failure can be replayed. */
  seed?: number
}

/** What a kill loop saw, for the test's own assertions. */
export interface KillReport {
  /** Kills that landed while the process still ran (the rest came after it had finished). */
  killedMidway: number
  /** How long the clean run took, ms. */
  took: number
}

function killTree(child: ChildProcess, group: boolean): void {
  try {
    if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    else child.kill('SIGKILL')
  } catch {
    // Already gone.
  }
}

/**
 * The loop: a clean run, then `c.kills` runs killed after a delay uniform in [0, 0.9 × the fastest run's time],
 * each followed by a re-run. Asserts on `t`; returns how many kills landed midway.
 */
export async function killRepeatedly(t: Test, c: KillCase): Promise<KillReport> {
  const random = seededRandom(c.seed ?? 7)
  const work = mkdtempSync(join(tmpdir(), `caloprod-kill-${c.name}-`))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const outputOf = c.output ?? ((dir: string) => dir)
  const normalize = c.normalize ?? ((files: Record<string, string>) => files)
  // Outputs name their own directory (jobs.list, genStatus.sub): compared as if every run had used the same one;
  // query.fingerprint records when query.csv was written, which no two runs share.
  const stable = (dir: string, path: string, text: string) =>
    (path.endsWith('query.fingerprint') ? text.replace(/"mtimeMs": [\d.e+]+/, '"mtimeMs": "<time>"') : text).replaceAll(dir, '<dir>')
  const look = (dir: string) =>
    normalize(Object.fromEntries(Object.entries(existsSync(outputOf(dir)) ? snapshot(outputOf(dir)) : {}).map(([path, text]) => [path, stable(dir, path, text)])))

  // Two clean runs (the first also warms the caches a cold start pays for), unless one is all a case can
  // afford; the faster one sets the window the kills land in.
  let took = Infinity
  let clean: Record<string, string> = {}
  let before: Record<string, string> = {}
  for (const name of c.warmup === false ? ['clean'] : ['warm', 'clean']) {
    const cleanDir = join(work, name)
    mkdirSync(cleanDir)
    await c.prepare(cleanDir)
    before = look(cleanDir)
    const started = Date.now()
    const result = await c.start(cleanDir).done
    took = Math.min(took, Date.now() - started)
    t.equal(result.code, 0, `${name} ${c.name}: ${result.stderr}`)
    clean = look(cleanDir)
  }

  let killedMidway = 0
  for (let i = 0; i < c.kills; i++) {
    const dir = join(work, `kill-${i}`)
    mkdirSync(dir)
    await c.prepare(dir)
    const started = Date.now()
    const { child, done } = c.start(dir)
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * took * 0.9)))
    killTree(child, c.group ?? false)
    const ended = await done
    if (ended.signal === 'SIGKILL') killedMidway++
    // It finished before the kill: a quieter moment of the machine made it faster than the clean runs, so the
    // window of the next kills follows this run.
    else took = Math.min(took, Date.now() - started)
    const now = look(dir)
    t.same(partialFiles(now, clean, before), [], `${c.name} kill ${i}: nothing partial under a real name`)
    await c.afterKill?.(t, dir, i, { now, clean })
    const rerun = await c.start(dir).done
    t.equal(rerun.code, 0, `${c.name} kill ${i}: the re-run succeeds ${rerun.stderr}`)
    t.same(look(dir), clean, `${c.name} kill ${i}: the re-run's outputs equal a clean run's`)
    await c.afterRerun?.(t, dir, i)
    rmSync(dir, { recursive: true, force: true })
  }
  return { killedMidway, took }
}
