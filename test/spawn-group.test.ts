import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runInGroup, withOwnGroups } from '../lib/spawn-group.js'

const sh = (script: string, options: Partial<Parameters<typeof runInGroup>[2]> = {}) =>
  runInGroup('/bin/sh', ['-c', script], { cwd: '/', env: process.env, stdio: 'pipe', ...options })

t.test('a program that ends: its exit status and its output', async (t) => {
  const out: Buffer[] = []
  const run = await sh('echo hi; exit 3', { onStdout: (c) => out.push(c) })
  t.same(run, { code: 3, signal: null, timedOut: false, aborted: false })
  t.equal(Buffer.concat(out).toString(), 'hi\n')
})

t.test('a timeout stops the whole group: what the program started does not live on', async (t) => {
  const dir = t.testdir()
  const mark = join(dir, 'grandchild-ran')
  const started = Date.now()
  const run = await sh(`(sleep 1; touch '${mark}') & sleep 30`, { timeoutMs: 200, graceMs: 500 })
  t.equal(run.timedOut, true)
  t.equal(run.signal, 'SIGTERM')
  t.ok(Date.now() - started < 5000)
  // A chance for the background job to do what it must not (touch the file 1 s after it started): a wait for
  // something not to happen. A busy machine can only make the test pass where it should fail, never fail.
  await new Promise((r) => setTimeout(r, 1500))
  t.notOk(existsSync(mark), 'the background job was stopped with the program')
})

t.test('SIGKILL follows SIGTERM after the grace period; an abort is told apart from a timeout', async (t) => {
  const stop = new AbortController()
  // Aborted once the shell ignores SIGTERM (it says so), not after a fixed time: on a busy machine a shell aborted
  // before its trap dies of the SIGTERM, and no SIGKILL is needed.
  const onStdout = (chunk: Buffer) => chunk.toString().includes('ignoring') && stop.abort()
  const run = await sh("trap '' TERM; echo ignoring; sleep 30 & wait; sleep 30", { signal: stop.signal, graceMs: 300, onStdout })
  t.same([run.aborted, run.timedOut, run.signal], [true, false, 'SIGKILL'])
})

t.test('reapOnExit ends what the program left holding the pipes', async (t) => {
  const started = Date.now()
  const run = await sh('sleep 30 & echo done', { reapOnExit: true, graceMs: 2000 })
  t.equal(run.code, 0)
  t.ok(Date.now() - started < 5000, 'did not wait for the background sleep')
})

t.test('a program that cannot be started rejects', async (t) => {
  await t.rejects(runInGroup('/no/such/program', [], { cwd: '/', env: {}, stdio: 'ignore' }), /ENOENT/)
})

t.test('withOwnGroups: a program still running when the work ends is stopped and waited for; after, nothing more starts', async (t) => {
  let late: Promise<unknown> | undefined
  let pid: number | undefined
  const started = Date.now()
  await t.rejects(withOwnGroups(async () => {
    // A program that ignores SIGTERM: SIGKILL after the grace ends it.
    void sh('trap "" TERM; echo $$; sleep 60', { onStdout: (c) => (pid ??= Number(String(c).trim())) })
    while (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
    // Work that goes on after its stage failed (an internal error does not stop it). Its 100 ms are order, not time:
    // the work's rejection closes its set in microtasks, before any timer runs, however busy the machine.
    late = new Promise((resolve) => setTimeout(resolve, 100)).then(() => sh('echo never'))
    late.catch(() => {}) // looked at below
    throw new Error('internal')
  }), { message: 'internal' })
  t.ok(Date.now() - started < 30000, 'it did not wait for the sleep')
  t.throws(() => process.kill(pid!, 0), { code: 'ESRCH' }, 'the program is gone')
  await t.rejects(late!, { code: 'ECANCELED' }, 'a program the ended work asks for is not started')
})
