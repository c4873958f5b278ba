// The real command (`node --import tsx tasks/task.ts`) as a child process: exit codes, output streams,
// and a run killed with SIGKILL in the middle of a command.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseArgs } from '../../lib/taskfile/cli.js'
import { cli, emptyDir, fixture, lines, read, spawnCli, task, waitFor } from './helpers.js'

t.test('argument parsing: flags anywhere, clusters, VAR=value, and -- for CLI_ARGS', async (t) => {
  const o = parseArgs(['submit', '-sf', 'RUN_TYPE=run3auau', '--dir=x', '-tFile.yml', '--', '-v', 'a=b'])
  t.same(o.tasks, ['submit'])
  t.same(o.vars, [['RUN_TYPE', 'run3auau']])
  t.same([o.silent, o.force, o.verbose, o.dir, o.taskfile], [true, true, false, 'x', 'File.yml'])
  t.same(o.cliArgs, ['-v', 'a=b'])
  t.same(parseArgs(['--silent=false', '-x']).silent, false)
})

t.test('an unknown flag is a usage error: exit 2 with the usage', async (t) => {
  const r = await task(emptyDir(t), ['--frobnicate'])
  t.equal(r.code, 2)
  t.match(r.stderr, /^unknown flag: --frobnicate\nUsage: task/)
  t.equal((await task(emptyDir(t), ['-z'])).code, 2)
  t.equal((await task(emptyDir(t), ['--dir'])).code, 2)
})

t.test('--help and --version', async (t) => {
  const help = await task(emptyDir(t), ['--help'])
  t.same([help.code, help.stdout], [0, ''])
  t.match(help.stderr, '--status')
  const version = await task(emptyDir(t), ['--version'])
  t.match(version.stdout, /^Task version: /)
})

t.test('CLI: exit 0 and command output on stdout, echo on stderr', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await cli(dir, ['loud'])
  t.same([r.code, r.stdout, r.stderr], [0, 'loud\n', 'task: [loud] echo loud\n'])
})

t.test('CLI: no Taskfile found exits 100', async (t) => {
  const dir = emptyDir(t)
  const r = await cli(dir, ['-d', dir])
  t.equal(r.code, 100)
  t.match(r.stderr, 'task: No Taskfile found at')
})

t.test('CLI: unknown task exits 200', async (t) => {
  const r = await cli(fixture(t, 'basic'), ['nope'])
  t.equal(r.code, 200)
  t.match(r.stderr, 'task: Task "nope" does not exist\n')
})

t.test('CLI: a failing command exits 201, or its own status with -x', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await cli(dir, ['fail'])
  t.equal(r.code, 201)
  t.match(r.stderr, 'task: Failed to run task "fail": exit status 3\n')
  t.equal((await cli(dir, ['--silent', '-x', 'fail'])).code, 3)
})

t.test('CLI: a missing required variable exits 206', async (t) => {
  const r = await cli(fixture(t, 'requires'), ['needs'])
  t.equal(r.code, 206)
  t.match(r.stderr, 'missing required variables: RUN_TYPE, OUTPUT')
})

t.test('CLI: an invalid Taskfile exits 102', async (t) => {
  t.equal((await cli(fixture(t, 'unknown-function'), ['shout'])).code, 102)
})

t.test('a run killed (SIGKILL) in the middle of a command is not taken as up to date', async (t) => {
  const dir = fixture(t, 'checksum')
  t.equal((await task(dir, ['build'])).code, 0)
  writeFileSync(join(dir, 'src/a.txt'), 'changed\n')
  // The second run sleeps in its second command; kill the runner and its commands (one process group).
  const child = spawnCli(dir, ['build', 'SLEEP=30'], { detached: true, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  await waitFor(() => lines(dir, 'runs.log').length === 2)
  process.kill(-(child.pid ?? 0), 'SIGKILL')
  await exited
  t.notOk(existsSync(join(dir, '.task/checksum/build')), 'no checksum survives the killed run')
  const rerun = await task(dir, ['build'])
  t.equal(rerun.code, 0)
  t.equal(lines(dir, 'runs.log').length, 3, 'the task ran again')
  t.equal(read(dir, 'out/result.txt'), 'changed\nbravo\n')
})

t.test('several tasks on one command line run one after the other, as `task submit report` does in cron', async (t) => {
  const dir = fixture(t, 'basic')
  const r = await task(dir, ['--silent', 'ordered', 'loud', 'GREETING=hi', 'default'])
  t.equal(r.code, 0, r.stderr)
  t.equal(read(dir, 'order.out'), 'one\ntwo\nthree\n', 'the first task')
  t.equal(r.stdout, 'loud\n', 'the second')
  t.equal(read(dir, 'default.out'), 'hi\n', 'the third, with the variables of the whole command line')

  const once = fixture(t, 'run-once')
  t.equal((await task(once, ['--silent', 'a', 'b'])).code, 0)
  t.equal((read(once, 'calls.out') ?? '').split('\n').filter((l) => l === 'shared').length, 1, 'a `run: once` dep of both tasks runs once')

  const failed = await task(dir, ['--silent', '-x', 'fail', 'loud'])
  t.equal(failed.code, 3, 'a failing task stops the line: its exit code with -x')
  t.equal(failed.stdout, 'before\n', 'the next task does not run')
})
