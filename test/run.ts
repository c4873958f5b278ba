// The README's test command: runs tap over every test file and ends with a plain "N passed, N failed"
// line that CI reads (tap's own closing line is not one it recognises). Arguments go to tap.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

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

const args = process.argv.slice(2).flatMap(testFiles)
const child = spawn(process.execPath, [tap, '--reporter=tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
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
