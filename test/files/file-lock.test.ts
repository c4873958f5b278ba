// The short hold on a read-modify-write (lib/files/file-lock.ts) and the record it guards, log/last-night.json:
// writers holding no common lock (a pipeline's stage, a report beside it) each keep their own entry; a hold its
// holder left behind (killed) is passed over; waiting for a live one is bounded.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { withFileLock } from '../../lib/files/file-lock.js'
import { processInfo } from '../../lib/lock.js'
import { deadPid } from '../helpers/processes.js'

const WRITERS = 6
const ENDS = 25

t.test('six processes recording their ends at once: every last entry is kept', async (t) => {
  const output = t.testdir({ log: {} })
  const writer = new URL('../helpers/record-ends.ts', import.meta.url).pathname
  await Promise.all(Array.from({ length: WRITERS }, (_, i) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', writer, output, `stage${i}`, String(ENDS)])))
  const record = JSON.parse(readFileSync(join(output, 'log', 'last-night.json'), 'utf8'))
  const lines = Object.fromEntries(Object.entries(record.stages as Record<string, { line: string }>).map(([stage, end]) => [stage, end.line]))
  t.same(lines, Object.fromEntries(Array.from({ length: WRITERS }, (_, i) => [`stage${i}`, `stage${i} end ${ENDS}`])), "each writer's last end")
  t.notOk(existsSync(join(output, 'log', 'last-night.json.lock')), 'no hold left behind')
})

t.test('a hold whose holder ended is passed over; the hold goes when the work throws; a folder it cannot be made in', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'record.json')
  writeFileSync(`${file}.lock`, `${hostname()} ${await deadPid()} \n`)
  t.equal(await withFileLock(file, async () => 'done', 60_000), 'done', 'an ended holder is not waited for')
  t.notOk(existsSync(`${file}.lock`))
  await t.rejects(withFileLock(file, async () => { throw new Error('boom') }), /boom/)
  t.notOk(existsSync(`${file}.lock`), 'removed however the work ended')
  t.equal(await withFileLock(join(dir, 'no-such-folder', 'record.json'), async () => 'anyway', 60_000), 'anyway', 'no hold can be made: the work goes ahead at once')
})

t.test("a live holder's hold is waited for, up to the bound, then the work goes ahead and the hold is left to it", async (t) => {
  const dir = t.testdir()
  mkdirSync(join(dir, 'sub'))
  const file = join(dir, 'sub', 'record.json')
  const live = `${hostname()} ${process.pid} ${processInfo(process.pid)?.start ?? ''}\n`
  writeFileSync(`${file}.lock`, live)
  const began = performance.now()
  let ran = false
  await withFileLock(file, async () => void (ran = true), 1500)
  t.ok(ran)
  t.ok(performance.now() - began >= 1500, 'waited the bound')
  t.equal(readFileSync(`${file}.lock`, 'utf8'), live, "the live holder's hold is not touched")
})

t.test('a wall clock stepped back an hour while waiting does not stretch the bound', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'record.json')
  writeFileSync(`${file}.lock`, `${hostname()} ${process.pid} ${processInfo(process.pid)?.start ?? ''}\n`)
  // As NTP stepping the clock back: Date.now reads an hour earlier from the first wait on, until 20 bounds have
  // passed on the monotonic clock (then it is right again, so a wait by the wall clock ends and the test says why).
  const realNow = Date.now
  const started = performance.now()
  let calls = 0
  let stretched = false
  Date.now = () => {
    if (++calls === 1) return realNow()
    if (performance.now() - started > 20 * 100) return (stretched = true, realNow() + 3600_000)
    return realNow() - 3600_000
  }
  t.teardown(() => void (Date.now = realNow))
  let ran = false
  await withFileLock(file, async () => void (ran = true), 100)
  Date.now = realNow
  t.ok(ran)
  t.notOk(stretched, 'the wait ended by its bound, not when the wall clock came back')
})
