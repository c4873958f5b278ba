import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import t from 'tap'
import { emptyDir, fixture, lines, read, task } from './helpers.js'

// XXH3-128 of ".hidden.txt" "hidden\n" "a.txt" "alpha\n" "b.txt" "bravo\n" (libxxhash 0.8.1: `xxhsum -H2`), as
// go-task v3.53+ writes it for the fixture's sources: src/**/*.txt (since v3.53 hidden files too) minus
// src/skip.txt, sorted by path, base name then contents.
const GO_TASK_CHECKSUM = '5124198d6b1d1ef72b5cd1fe802f0c25'

const runs = (dir: string) => lines(dir, 'runs.log').length

t.test('a run records the checksum go-task would write, in .task/checksum/<task>', async (t) => {
  const dir = fixture(t, 'checksum')
  t.equal((await task(dir, ['build'])).code, 0)
  t.equal(read(dir, '.task/checksum/build'), GO_TASK_CHECKSUM + '\n')
  t.equal(read(dir, 'out/result.txt'), 'alpha\nbravo\n')
})

t.test('a checksum written by go-task is honoured: the task is up to date without ever running here', async (t) => {
  const dir = fixture(t, 'checksum')
  mkdirSync(join(dir, '.task/checksum'), { recursive: true })
  writeFileSync(join(dir, '.task/checksum/build'), GO_TASK_CHECKSUM + '\n')
  mkdirSync(join(dir, 'out'))
  writeFileSync(join(dir, 'out/result.txt'), 'made by go-task\n')
  const r = await task(dir, ['build'])
  t.equal(r.stderr, 'task: Task "build" is up to date\n')
  t.equal(runs(dir), 0)
})

t.test('unchanged sources with the generated file present: up to date', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  const r = await task(dir, ['build'])
  t.equal(r.stderr, 'task: Task "build" is up to date\n')
  t.equal(runs(dir), 1)
})

t.test('a changed source makes it run again', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  writeFileSync(join(dir, 'src/sub/b.txt'), 'BRAVO\n')
  await task(dir, ['build'])
  t.equal(runs(dir), 2)
  t.equal(read(dir, 'out/result.txt'), 'alpha\nBRAVO\n')
})

t.test('excluded files are not sources; hidden files under ** are (go-task v3.53)', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  writeFileSync(join(dir, 'src/skip.txt'), 'changed\n')
  await task(dir, ['build'])
  t.equal(runs(dir), 1, 'an excluded file changed: up to date')
  writeFileSync(join(dir, 'src/.hidden.txt'), 'changed\n')
  await task(dir, ['build'])
  t.equal(runs(dir), 2, 'a hidden file changed: runs')
})

t.test('a missing generated file forces a run', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  rmSync(join(dir, 'out/result.txt'))
  await task(dir, ['build'])
  t.equal(runs(dir), 2)
  t.ok(existsSync(join(dir, 'out/result.txt')))
})

t.test('a failed command leaves no checksum, so the next run runs again (go-task #1178)', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  writeFileSync(join(dir, 'src/a.txt'), 'ALPHA\n')
  const failed = await task(dir, ['build', 'FAIL=1'])
  t.equal(failed.code, 201)
  t.notOk(existsSync(join(dir, '.task/checksum/build')), 'the old checksum is gone and no new one was written')
  // Even with the source put back as it was at the last good run, the half-done run is not trusted.
  writeFileSync(join(dir, 'src/a.txt'), 'alpha\n')
  await task(dir, ['build'])
  t.equal(runs(dir), 3)
  t.equal(read(dir, '.task/checksum/build'), GO_TASK_CHECKSUM + '\n')
})

t.test('-n/--dry prints the commands and writes nothing', async (t) => {
  const dir = fixture(t, 'checksum')
  const r = await task(dir, ['--dry', 'build'])
  t.equal(r.code, 0)
  t.match(r.stderr, 'task: [build] echo ran >> runs.log\n')
  t.notOk(existsSync(join(dir, '.task')), 'no .task directory')
  t.notOk(existsSync(join(dir, 'runs.log')), 'no command ran')
  t.notOk(existsSync(join(dir, 'out')), 'no directory made')
})

t.test('-f/--force runs an up-to-date task and, like go-task, records no checksum', async (t) => {
  const dir = fixture(t, 'checksum')
  const forced = await task(dir, ['-f', 'build'])
  t.equal(forced.code, 0)
  t.notOk(existsSync(join(dir, '.task/checksum/build')), 'a forced first run writes no checksum')
  await task(dir, ['build'])
  t.equal(read(dir, '.task/checksum/build'), GO_TASK_CHECKSUM + '\n')
  const r = await task(dir, ['-f', 'build'])
  t.equal(r.code, 0)
  t.equal(runs(dir), 3)
  t.notOk(existsSync(join(dir, '.task/checksum/build')), 'nor after an up-to-date one (removed first: a forced run cut short is never up to date)')
})

t.test('--status exits 1 while a task is not up to date and 0 once it is', async (t) => {
  const dir = fixture(t, 'checksum')
  const before = await task(dir, ['--status', 'build'])
  t.equal(before.code, 1)
  t.equal(before.stderr, 'task: Task "build" is not up-to-date\n')
  t.notOk(existsSync(join(dir, '.task')), '--status writes nothing')
  await task(dir, ['build'])
  const after = await task(dir, ['--status', 'build'])
  t.same([after.code, after.stderr], [0, ''])
})

t.test('--status --verbose says why: no checksum yet', async (t) => {
  const r = await task(fixture(t, 'checksum'), ['--status', '--verbose', 'build'])
  t.equal(r.code, 1)
  t.match(r.stderr, 'task: Task "build" is not up-to-date:\n  - no checksum recorded for "build" (never run here, or its last run failed or was interrupted)\n')
})

t.test('--status --verbose says which source changed, was added or removed, and which generates is missing', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'])
  writeFileSync(join(dir, 'src/a.txt'), 'changed\n')
  writeFileSync(join(dir, 'src/sub/new.txt'), 'new\n')
  rmSync(join(dir, 'out/result.txt'))
  const r = await task(dir, ['--status', '-v', 'build'])
  t.equal(r.code, 1)
  t.match(r.stderr, '  - source changed: src/a.txt\n')
  t.match(r.stderr, '  - source added: src/sub/new.txt\n')
  t.match(r.stderr, '  - generates "out/result.txt" matches no file\n')
  rmSync(join(dir, 'src/sub/b.txt'))
  t.match((await task(dir, ['--status', '-v', 'build'])).stderr, '  - source removed: src/sub/b.txt\n')
})

t.test('--status --verbose names a failing status command, and a task that always runs', async (t) => {
  const dir = fixture(t, 'status')
  const r = await task(dir, ['--status', '--verbose', 'make-done'])
  t.match(r.stderr, '  - status command failed (exit status 1): test -f done.txt\n')
  const plain = await task(fixture(t, 'checksum'), ['--status', '--verbose', 'plain'])
  t.match(plain.stderr, '  - it has no sources and no status, so it always runs\n')
})

t.test('the label names the checksum file, normalized like go-task', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['labelled', 'KIND=a/b c'])
  t.ok(existsSync(join(dir, '.task/checksum/pack-a-b-c')))
  const again = await task(dir, ['labelled', 'KIND=a/b c'])
  t.equal(again.stderr, 'task: Task "pack/a/b c" is up to date\n')
})

t.test('TASK_TEMP_DIR moves the checksum directory: relative to the Taskfile, or <absolute dir>/<project dir name>', async (t) => {
  const dir = fixture(t, 'checksum')
  await task(dir, ['build'], { TASK_TEMP_DIR: 'state' })
  t.equal(read(dir, 'state/checksum/build'), GO_TASK_CHECKSUM + '\n')
  t.notOk(existsSync(join(dir, '.task')))
  // go-task's setupTempDir: an absolute TASK_TEMP_DIR is shared by projects, so each gets a folder of its name.
  const shared = emptyDir(t)
  await task(dir, ['build'], { TASK_TEMP_DIR: shared })
  t.equal(readFileSync(join(shared, basename(dir), 'checksum', 'build'), 'utf8'), GO_TASK_CHECKSUM + '\n')
  t.notOk(existsSync(join(shared, 'checksum')), 'nothing directly in the shared directory')
  const home = emptyDir(t)
  await task(dir, ['build'], { TASK_TEMP_DIR: '~/.cache/task', HOME: home })
  t.equal(readFileSync(join(home, '.cache/task', basename(dir), 'checksum', 'build'), 'utf8'), GO_TASK_CHECKSUM + '\n')
})
