// The README's test command: runs tap over every test file and ends with a plain "N passed, N failed"
// line that CI reads (tap's own closing line is not one it recognises). Arguments go to tap. go-task, which the
// Taskfile's tests run, is found (or installed) first and put on the tests' PATH.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findGoTask } from '../tasks/go-task.js'

const tap = fileURLToPath(new URL('../node_modules/tap/dist/esm/run.mjs', import.meta.url))

/**
 * A directory argument (`npm test -- test/faults`) as the test files under it: tap finds `.ts` test files in a
 * directory only through its TypeScript plugin, which is off (tsx loads the tests, package.json's node-arg).
 */
function testFiles(arg: string): string[] {
  if (arg.startsWith('-') || !statSync(arg, { throwIfNoEntry: false })?.isDirectory()) return [arg]
  const names = readdirSync(arg, { recursive: true, encoding: 'utf8' })
  return names.filter((name) => name.endsWith('.test.ts')).map((name) => join(arg, name)).sort()
}

// tap builds its Test class for package.json's plugin set when that differs from the one it was built with, but the
// run that rebuilds it still starts every test file with the old set's loaders (tapjs/tapjs#974): the first `npm test`
// after `npm ci` loaded ts-node (@tapjs/typescript, which package.json turns off) into every test, beside tsx, and
// tests that took seconds took minutes and timed out. So the same comparison first, in a child (tap's own modules
// print TAP when loaded), and `tap build` before the run when they differ.
const SAME_PLUGINS = "const { TapConfig } = await import('@tapjs/config'); const config = await TapConfig.load(); " +
  "const { signature } = await import('@tapjs/test'); process.exit(signature === config.pluginSignature ? 0 : 1)"
if (spawnSync(process.execPath, ['--input-type=module', '-e', SAME_PLUGINS], { stdio: 'ignore' }).status !== 0) {
  const built = spawnSync(process.execPath, [tap, 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (built.status !== 0) {
    process.stderr.write(`tap build failed (exit ${built.status}): tap would load the wrong plugins; run \`npx tap build\` and look at what it says\n`)
    process.exit(1)
  }
}

let goTask: string
try {
  goTask = findGoTask()
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(1)
}
const PATH = goTask === 'task' ? process.env.PATH : `${dirname(goTask)}${delimiter}${process.env.PATH ?? ''}`
const args = process.argv.slice(2).flatMap(testFiles)
const child = spawn(process.execPath, [tap, '--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PATH } })
let counts: { pass: number; fail: number } | undefined
let rest = ''
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  const lines = (rest + chunk.toString()).split('\n')
  rest = lines.pop() ?? ''
  for (const line of lines) {
    // tap's top-level summary, e.g. "# { total: 12, pass: 11, fail: 1, skip: 2 }"
    const match = /^# \{ total: (\d+)(.*)\}$/.exec(line)
    if (match) {
      const field = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(match[2])?.[1] ?? 0)
      counts = { pass: field('pass'), fail: field('fail') }
    }
  }
})
child.on('close', (code) => {
  if (!counts) process.stdout.write(`tap printed no summary (exit ${code})\n`)
  const { pass, fail } = counts ?? { pass: 0, fail: 1 }
  process.stdout.write(`${pass} passed, ${fail} failed\n`)
  process.exitCode = code === 0 && fail === 0 && counts ? 0 : 1
})
