import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fixture, lines, read, task } from './helpers.js'

// go-task issue #850: `task foo BAR=baz` and `BAR=baz task foo` print "default" when the task declares
// `BAR: default`; the documented fix is `BAR: '{{.BAR | default "…"}}'`.
t.test('#850: a task var without default beats a CLI var', async (t) => {
  const dir = fixture(t, 'precedence')
  t.equal((await task(dir, ['issue-850', 'BAR=baz'])).code, 0)
  t.equal(read(dir, 'out.txt'), 'default\n')
})

t.test('#850: a task var without default beats an environment variable', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['issue-850'], { BAR: 'baz' })
  t.equal(read(dir, 'out.txt'), 'default\n')
})

t.test('#850: with `default` the CLI var wins, and the default applies without it', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['issue-850-default', 'BAR=baz'])
  t.equal(read(dir, 'out.txt'), 'baz\n')
  await task(dir, ['issue-850-default'])
  t.equal(read(dir, 'out.txt'), 'my-default-value\n')
})

// go-task issue #1759: `task example FILE=foo` still prints "*.yml" for `FILE: "*.yml"`.
t.test('#1759: a task var without default beats CLI and environment', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['issue-1759', 'FILE=foo'])
  t.equal(read(dir, 'out.txt'), '*.yml\n')
  await task(dir, ['issue-1759'], { FILE: 'foo' })
  t.equal(read(dir, 'out.txt'), '*.yml\n')
})

t.test('#1759: with `default`, CLI and environment values come through', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['issue-1759-default', 'FILE=foo'])
  t.equal(read(dir, 'out.txt'), 'foo\n')
  await task(dir, ['issue-1759-default'], { FILE: 'from-env' })
  t.equal(read(dir, 'out.txt'), 'from-env\n')
  await task(dir, ['issue-1759-default'])
  t.equal(read(dir, 'out.txt'), '*.yml\n')
})

t.test('CLI vars override root vars, and later root vars see them (go-task #2588/#2589)', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['root'])
  t.equal(read(dir, 'out.txt'), 'root root-default root-default-derived\n')
  await task(dir, ['root', 'ROOT_PLAIN=cli', 'ROOT_DEFAULT=given'])
  t.equal(read(dir, 'out.txt'), 'cli given given-derived\n')
})

t.test('vars given by the calling task reach a `default` task var', async (t) => {
  const dir = fixture(t, 'precedence')
  await task(dir, ['caller'])
  t.equal(read(dir, 'out.txt'), 'caller\n')
  await task(dir, ['callee'])
  t.equal(read(dir, 'out.txt'), 'nobody\n')
})

t.test('special vars: TASK, ROOT_DIR, TASKFILE_DIR, USER_WORKING_DIR, ALIAS', async (t) => {
  const dir = fixture(t, 'basic')
  mkdirSync(join(dir, 'sub'))
  const r = await task(join(dir, 'sub'), ['specials'])
  t.equal(r.code, 0)
  t.equal(read(dir, 'specials.out'), `specials|${dir}|${dir}|${join(dir, 'sub')}|specials\n`)
})

t.test('the Taskfile env reaches commands, but an environment variable already set wins (go-task v3)', async (t) => {
  const dir = fixture(t, 'env')
  await task(dir, ['show'])
  t.equal(read(dir, 'env.out'), 'from-var task\n')
  await task(dir, ['show'], { ROOT_ENV: 'from-os' })
  t.equal(read(dir, 'env.out'), 'from-os task\n')
})

t.test('sh: vars run once per invocation; one trailing newline is trimmed; numbers print as written', async (t) => {
  const dir = fixture(t, 'dynamic')
  t.equal((await task(dir, ['two'])).code, 0)
  t.equal(read(dir, 'one.out'), 'dyn\n|')
  t.equal(read(dir, 'two.out'), 'dyn\n-7\n')
  t.same(lines(dir, 'sh.log'), ['ran'])
})
