// Taking over a stale lock while other runs start at the same moment (issue 13.1): exactly one of them may
// hold the lock, however their steps interleave.
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import t from 'tap'
import { layout } from '../lib/files/layout.js'
import { acquireLock, processInfo, type LockOwner, type TakeoverStep } from '../lib/lock.js'
import { deadPid, liveProcess } from './helpers/processes.js'

/** Rounds of the stress case: a stale lock, then STARTERS runs at once (each round about 0.1 s). */
export const TAKEOVER_ROUNDS = Number(process.env.CALOPROD_TAKEOVER_ROUNDS ?? 40)
export const STARTERS = 8

const ownerOf = (pid: number): LockOwner => ({ pid, start: processInfo(pid)?.start, command: `stage (pid ${pid})`, pipeline: false })

/** A lock left by a stage that was killed: its process is gone. */
function staleRecord(pid: number, round = 0) {
  return JSON.stringify({
    host: hostname(), pid, start: null, command: 'task submit', pipeline: true, since: `2025-01-01T00:00:${String(round % 60).padStart(2, '0')}.000Z`,
    stage: 'submit', stagePid: pid, stageStart: null, stageSince: '2025-01-01T00:00:00.000Z',
  })
}

/** A promise with its resolve function, to open a gate from outside. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { open, opened }
}

const settle = (p: Promise<unknown>) => p.then(() => 'held', (err: { exitCode?: number; message: string }) => `exit ${err.exitCode}: ${err.message}`)

t.test('the interleaving of issue 13: A takes over, B (which read the same stale lock) moves on, C starts: only A holds it', async (t) => {
  const output = t.testdir()
  writeFileSync(layout.lockFile(output), staleRecord(await deadPid()))
  const [a, b, c] = [liveProcess(t), liveProcess(t), liveProcess(t)]
  const warnings: string[] = []
  const log = { info: () => {}, warn: (m: string) => warnings.push(m) }

  // B reads the stale record, then waits; once it has made its first move it waits again.
  const bRead = gate()
  const bMayGo = gate()
  const bMoved = gate()
  const bMayFinish = gate()
  const pause = async (step: TakeoverStep) => {
    if (step === 'read') {
      bRead.open()
      await bMayGo.opened
    } else {
      bMoved.open()
      await bMayFinish.opened
    }
  }
  const bResult = settle(acquireLock(output, 'submit', ownerOf(b.pid!), { self: b.pid, pause, log }))
  await bRead.opened

  // A takes the stale lock over, all the way.
  const releaseA = await acquireLock(output, 'submit', ownerOf(a.pid!), { self: a.pid, log })
  const aRecord = readFileSync(layout.lockFile(output), 'utf8')
  t.match(JSON.parse(aRecord), { pid: a.pid }, 'A holds the lock')

  // B goes on with the stale record it read, and stops after its first step.
  bMayGo.open()
  await Promise.race([bMoved.opened, bResult])

  // C starts now.
  const cResult = await settle(acquireLock(output, 'submit', ownerOf(c.pid!), { self: c.pid, log }))
  bMayFinish.open()
  const results = { b: await bResult, c: cResult }

  t.match(results.b, /^exit 3: /, 'B stays out')
  t.match(results.c, /^exit 3: /, 'C stays out')
  t.equal(readFileSync(layout.lockFile(output), 'utf8'), aRecord, "the lock is still A's, byte for byte")
  await releaseA()
  t.same(warnings.filter((w) => /changed hands/.test(w)), [], 'A releases its own lock: it never changed hands')
})

t.test(`a stale lock, then ${STARTERS} starters at once, ${TAKEOVER_ROUNDS} rounds: exactly one runs each round, the others exit 3`, async (t) => {
  const output = t.testdir()
  const starters = Array.from({ length: STARTERS }, () => fork(new URL('./helpers/lock-starter.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  }))
  t.teardown(() => starters.forEach((s) => s.kill('SIGKILL')))
  const next = (s: ChildProcess) => new Promise<Record<string, unknown>>((resolve) => s.once('message', resolve))
  await Promise.all(starters.map(next))
  const dead = await deadPid()
  const bad: string[] = []
  for (let round = 0; round < TAKEOVER_ROUNDS; round++) {
    writeFileSync(layout.lockFile(output), staleRecord(dead, round))
    const at = Date.now() + 40
    const answers = await Promise.all(starters.map((s) => {
      const answer = next(s)
      s.send({ output, at })
      return answer
    }))
    const codes = answers.map((a) => a.code as number).sort()
    const expected = [0, ...Array(STARTERS - 1).fill(3)]
    if (JSON.stringify(codes) !== JSON.stringify(expected)) bad.push(`round ${round}: exit codes ${codes.join(',')}`)
    const holder = answers.findIndex((a) => a.code === 0)
    if (holder >= 0 && JSON.parse(readFileSync(layout.lockFile(output), 'utf8')).pid !== starters[holder].pid) bad.push(`round ${round}: the lock is not the holder's`)
    await Promise.all(starters.map((s) => {
      const answer = next(s)
      s.send({ release: true })
      return answer
    }))
  }
  t.same(bad, [], `every round: one 0 and ${STARTERS - 1} times 3`)
  t.same(readdirSync(output).filter((name) => name.includes('takeover')), [], 'no takeover guard is left behind')
})

t.test('a takeover guard left by a run killed in mid-takeover is taken over; a live one makes the run exit 3', async (t) => {
  const output = t.testdir()
  const stale = staleRecord(await deadPid())
  writeFileSync(layout.lockFile(output), stale)
  const guard = `${layout.lockFile(output)}.${createHash('sha256').update(stale).digest('hex').slice(0, 16)}.takeover`
  const busy = liveProcess(t)
  writeFileSync(guard, JSON.stringify({ host: hostname(), pid: busy.pid, start: processInfo(busy.pid!)?.start, since: '2025-01-01T00:00:00.000Z' }))
  const me = liveProcess(t)
  await t.rejects(acquireLock(output, 'submit', ownerOf(me.pid!), { self: me.pid }), { exitCode: 3, message: /is being taken over by another run/ })
  t.equal(readFileSync(layout.lockFile(output), 'utf8'), stale, 'the stale lock is left to the run taking it over')

  writeFileSync(guard, JSON.stringify({ host: hostname(), pid: await deadPid(), start: null, since: '2025-01-01T00:00:00.000Z' }))
  const release = await acquireLock(output, 'submit', ownerOf(me.pid!), { self: me.pid })
  t.match(JSON.parse(readFileSync(layout.lockFile(output), 'utf8')), { pid: me.pid }, 'taken over')
  t.same(readdirSync(output).filter((name) => name.includes('takeover')), [], 'the dead guard is gone')
  await release()
})
