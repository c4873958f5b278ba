import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadTaskfile } from '../../lib/taskfile/load.js'
import { Runner } from '../../lib/taskfile/run.js'
import { cleanEnv, fixture, lines, read, task, waitFor } from './helpers.js'

t.test('with no task named, the default task runs', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await task(dir, [])
  t.equal(r.code, 0)
  t.equal(read(dir, 'default.out'), 'hello\n')
  t.equal(r.stderr, 'task: [default] echo hello > default.out\n')
})

t.test('no default task: exit 200', async (t) => {
  const dir = fixture(t, 'deps')
  writeFileSync(join(dir, 'Taskfile.yml'), "version: '3'\ntasks:\n  other: echo x\n")
  const r = await task(dir, [])
  t.equal(r.code, 200)
  t.match(r.stderr, 'task: Task "default" does not exist')
})

t.test('commands run in order', async (t) => {
  const dir = fixture(t, 'basic')
  await task(dir, ['ordered'])
  t.same(lines(dir, 'order.out'), ['one', 'two', 'three'])
})

t.test('each command is echoed as go-task does, with the label when there is one; output goes to stdout', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await task(dir, ['lb'])
  t.equal(r.code, 0)
  t.equal(r.stdout, 'labelled\nloud\n')
  t.match(r.stderr, 'task: [lbl-hello] echo labelled\ntask: [loud] echo loud\n')
})

t.test('silent: true, and -s/--silent, stop the echo but not the output', async (t) => {
  const dir = fixture(t, 'basic')
  const quiet = await task(dir, ['quiet'])
  t.same([quiet.stdout, quiet.stderr], ['quiet\n', ''])
  const silenced = await task(dir, ['-s', 'loud'])
  t.same([silenced.stdout, silenced.stderr], ['loud\n', ''])
})

t.test('-v/--verbose says when tasks start and finish', async (t) => {
  const r = await task(fixture(t, 'basic'), ['--verbose', 'loud'])
  t.match(r.stderr, 'task: "loud" started\n')
  t.match(r.stderr, 'task: "loud" finished\n')
})

t.test('a failing command stops the task: exit 201 with go-task\'s message', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await task(dir, ['fail'])
  t.equal(r.code, 201)
  t.match(r.stderr, 'task: Failed to run task "fail": exit status 3\n')
  t.equal(read(dir, 'after.out'), undefined)
})

t.test('-x/--exit-code passes the command\'s own exit status through', async (t) => {
  t.equal((await task(fixture(t, 'basic'), ['-x', 'fail'])).code, 3)
})

t.test('an internal task cannot be called from the command line (exit 202)', async (t) => {
  const r = await task(fixture(t, 'basic'), ['hidden'])
  t.equal(r.code, 202)
  t.equal(r.stderr, 'task: Task "hidden" is internal\n')
})

t.test('an unknown task: exit 200, after listing the tasks there are', async (t) => {
  const r = await task(fixture(t, 'basic'), ['nope'])
  t.equal(r.code, 200)
  t.equal(r.stderr, 'task: Task "nope" does not exist\n')
  t.match(r.stdout, /^task: Available tasks for this project:\n\* default: +Say hello\n/)
})

t.test('CLI_ARGS is everything after --, each argument shell-quoted', async (t) => {
  const dir = fixture(t, 'basic')
  await task(dir, ['args', '--', 'one', 'two words', "it's"])
  t.same(lines(dir, 'args.out'), ['[one]', '[two words]', "[it's]"])
})

t.test('deps run in parallel (each waits for a file the other creates)', async (t) => {
  const dir = fixture(t, 'deps')
  const r = await task(dir, [])
  t.equal(r.code, 0, r.stderr)
  t.equal(read(dir, 'joined.out'), 'joined\n')
})

t.test('a failing dep fails the task, names both tasks, and its command never runs', async (t) => {
  const dir = fixture(t, 'deps')
  const r = await task(dir, ['broken'])
  t.equal(r.code, 201)
  t.match(r.stderr, 'task: Failed to run task "broken": task: Failed to run task "bad-dep": exit status 4\n')
  t.equal(read(dir, 'never.out'), undefined)
  // The other dep is not cut short (go-task waits for all deps unless --failfast).
  t.equal(read(dir, 'ok.out'), 'ok\n')
  t.equal((await task(dir, ['-x', 'broken'])).code, 4)
})

t.test('run: once runs once whatever the vars; when_changed once per set of vars; always every time', async (t) => {
  const dir = fixture(t, 'run-once')
  t.equal((await task(dir, [])).code, 0)
  t.same(lines(dir, 'calls.out').sort(), ['always', 'always', 'changed-one', 'changed-two', 'shared'])
})

t.test('requires: a missing variable stops the task before anything runs (exit 206)', async (t) => {
  const dir = fixture(t, 'requires')
  const r = await task(dir, ['needs', 'RUN_TYPE=run3auau'])
  t.equal(r.code, 206)
  t.equal(r.stderr, 'task: Task "needs" cancelled because it is missing required variables: OUTPUT\n')
  t.equal(read(dir, 'out.txt'), undefined)
  t.equal((await task(dir, ['needs', 'RUN_TYPE=a', 'OUTPUT=b'])).code, 0)
  t.equal(read(dir, 'out.txt'), 'a b\n')
})

t.test('preconditions: a failing one prints its msg and fails the task without running it', async (t) => {
  const dir = fixture(t, 'preconditions')
  const r = await task(dir, ['guarded'])
  t.equal(r.code, 201)
  t.equal(r.stderr, 'task: allowed.txt is missing\ntask: Failed to run task "guarded": task: precondition not met\n')
  t.equal(read(dir, 'ran.out'), undefined)
  writeFileSync(join(dir, 'allowed.txt'), '')
  t.equal((await task(dir, ['guarded'])).code, 0)
  t.equal(read(dir, 'ran.out'), 'ran\n')
})

t.test('status: when every status command exits 0 the task is up to date and does not run', async (t) => {
  const dir = fixture(t, 'status')
  t.equal((await task(dir, ['make-done'])).code, 0)
  const again = await task(dir, ['make-done'])
  t.equal(again.stderr, 'task: Task "make-done" is up to date\n')
  t.same(lines(dir, 'made.log'), ['made'])
})

t.test('status and sources together: both must be up to date', async (t) => {
  const dir = fixture(t, 'status')
  writeFileSync(join(dir, 'flag.txt'), '')
  await task(dir, ['both'])
  await task(dir, ['both'])
  t.same(lines(dir, 'both.log'), ['ran'], 'status ok + checksum recorded: skipped the second time')
  writeFileSync(join(dir, 'in.txt'), 'changed\n')
  await task(dir, ['both'])
  t.same(lines(dir, 'both.log'), ['ran', 'ran'], 'a changed source runs it although status passes')
})

t.test('the library runs tasks without the CLI (Runner API)', async (t) => {
  const dir = fixture(t, 'basic')
  let out = ''
  const runner = new Runner({
    taskfile: loadTaskfile({ cwd: dir }),
    processEnv: cleanEnv(),
    userWorkingDir: dir,
    cliVars: [['GREETING', 'hi']],
    stdout: { write: (c) => (out += c.toString()) },
    stderr: { write: () => true },
  })
  await runner.run([{ task: 'default' }, { task: 'loud' }])
  t.equal(read(dir, 'default.out'), 'hi\n')
  t.equal(out, 'loud\n')
})

t.test('dir: commands run in the task\'s (templated) dir, made if missing', async (t) => {
  const dir = fixture(t, 'basic')
  t.equal((await task(dir, ['in-dir'])).code, 0)
  t.equal(read(dir, 'work/hello/here.out'), join(dir, 'work/hello') + '\n')
})

t.test('-t/--taskfile and -d/--dir choose the Taskfile; its directory is the task dir', async (t) => {
  const dir = fixture(t, 'other')
  t.equal((await task(dir, ['--taskfile', 'build.yml'])).code, 0)
  t.equal(read(dir, 'other.out'), 'other\n')
  const basic = fixture(t, 'basic')
  t.equal((await task(dir, ['-d', basic, 'ordered'])).code, 0)
  t.same(lines(basic, 'order.out'), ['one', 'two', 'three'])
})

t.test('-f/--force forces the deps too (go-task without the GENTLE_FORCE experiment)', async (t) => {
  const dir = fixture(t, 'status')
  await task(dir, ['parent'])
  await task(dir, ['parent'])
  t.same(lines(dir, 'made.log'), ['made'], 'without --force the up-to-date dep is skipped')
  await task(dir, ['--force', 'parent'])
  t.same(lines(dir, 'made.log'), ['made', 'made'])
  t.same(lines(dir, 'parent.log'), ['parent', 'parent', 'parent'])
})

t.test('a dependency cycle stops with exit 204 (go-task\'s maximum task call)', async (t) => {
  const dir = fixture(t, 'cycle')
  const r = await task(dir, ['ping'])
  t.equal(r.code, 204)
  t.match(r.stderr, /^task: Maximum task call exceeded \(1000\) for task "p[io]ng": probably an cyclic dep or infinite loop\n$/)
  // With run: once the two would wait on each other for ever; that is caught at once.
  const once = await task(dir, ['once-a'])
  t.equal(once.code, 204)
})

t.test('cancelling a run (the CLI does on SIGINT/SIGTERM) stops the running command and fails the task', async (t) => {
  const dir = fixture(t, 'checksum')
  const controller = new AbortController()
  const runner = new Runner({
    taskfile: loadTaskfile({ cwd: dir }),
    processEnv: cleanEnv(),
    userWorkingDir: dir,
    cliVars: [['SLEEP', '30']],
    stdout: { write: () => true },
    stderr: { write: () => true },
    signal: controller.signal,
  })
  const started = Date.now()
  const running = runner.run([{ task: 'build' }])
  await waitFor(() => lines(dir, 'runs.log').length === 1)
  controller.abort()
  // The abort lands during `sleep` (killed: exit status 143) or, on a busy machine, just before it starts.
  await t.rejects(running, { code: 201, message: /^task: Failed to run task "build": (exit status 143|context canceled)$/ })
  t.ok(Date.now() - started < 20_000, 'the sleep was cut short')
  t.notOk(existsSync(join(dir, '.task/checksum/build')))
})
