import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ExitCode, TaskfileError } from '../../lib/taskfile/errors.js'
import { loadTaskfile, parseTaskfile } from '../../lib/taskfile/load.js'
import { locateTaskfile } from '../../lib/taskfile/locate.js'
import { emptyDir, fixture, task } from './helpers.js'

const parse = (yaml: string) => parseTaskfile('/x/Taskfile.yml', yaml, '/x')
const invalid = (pattern: RegExp) => ({ code: ExitCode.taskfileInvalid, message: pattern })

t.test('finds Taskfile.yml, then the other default names, in the working directory', async (t) => {
  const dir = emptyDir(t)
  writeFileSync(join(dir, 'taskfile.yaml'), "version: '3'\n")
  t.equal(locateTaskfile({ cwd: dir }), join(dir, 'taskfile.yaml'))
  writeFileSync(join(dir, 'Taskfile.yml'), "version: '3'\n")
  t.equal(locateTaskfile({ cwd: dir }), join(dir, 'Taskfile.yml'))
})

t.test('walks up to a parent directory, and --dir/--taskfile choose the file', async (t) => {
  const dir = emptyDir(t)
  mkdirSync(join(dir, 'a/b'), { recursive: true })
  writeFileSync(join(dir, 'Taskfile.yml'), "version: '3'\n")
  writeFileSync(join(dir, 'a/Other.yml'), "version: '3'\n")
  t.equal(locateTaskfile({ cwd: join(dir, 'a/b') }), join(dir, 'Taskfile.yml'))
  t.equal(locateTaskfile({ cwd: dir, taskfile: 'a/Other.yml' }), join(dir, 'a/Other.yml'))
  t.throws(() => locateTaskfile({ cwd: dir, dir: 'a' }), { code: ExitCode.taskfileNotFound })
})

t.test('no Taskfile: exit 100 with go-task\'s message', async (t) => {
  const dir = emptyDir(t)
  const r = await task(dir, ['--dir', dir])
  t.equal(r.code, 100)
  t.equal(r.stderr, `task: No Taskfile found at "${dir}"\n`)
})

t.test('version 3 is required', async (t) => {
  t.throws(() => parse('tasks: {}\n'), invalid(/"version" is required/))
  t.throws(() => parse("version: '2'\n"), invalid(/version "2" is not supported/))
  t.doesNotThrow(() => parse('version: 3\n'))
})

t.test('an unknown root key is rejected, naming it (exit 102)', async (t) => {
  const dir = fixture(t, 'invalid-key')
  const r = await task(dir, [])
  t.equal(r.code, 102)
  t.match(r.stderr, /task: Failed to parse Taskfile\.yml: root: unsupported key "dotenv"/)
})

t.test('an unknown task key is rejected, naming the task and the key', async (t) => {
  const err = t.throws(() => loadTaskfile({ cwd: fixture(t, 'invalid-task-key') })) as TaskfileError
  t.equal(err.code, 102)
  t.match(err.message, /tasks\.build: unsupported key "ignore_error"/)
})

t.test('an unknown template function is rejected at load time, naming the template and the task', async (t) => {
  const r = await task(fixture(t, 'unknown-function'), ['--list-all'])
  t.equal(r.code, 102)
  t.match(r.stderr, /tasks\.shout\.cmds\[0\]: template "echo \{\{\.NAME \| upper\}\}": the function "upper" is not supported/)
})

t.test('an if/range action is rejected the same way', async (t) => {
  const r = await task(fixture(t, 'unsupported-action'), ['maybe'])
  t.equal(r.code, 102)
  t.match(r.stderr, /tasks\.maybe\.cmds\[0\].*the "if" action is not supported/)
})

t.test('method timestamp, unknown run modes and unsupported var forms are rejected', async (t) => {
  t.throws(() => parse("version: '3'\ntasks:\n  a:\n    method: timestamp\n"), invalid(/"timestamp" is not implemented/))
  t.throws(() => parse("version: '3'\ntasks:\n  a:\n    run: sometimes\n"), invalid(/tasks\.a\.run: "sometimes"/))
  t.throws(() => parse("version: '3'\nvars:\n  A:\n    ref: .B\n"), invalid(/vars\.A: unsupported key "ref"/))
  t.throws(() => parse("version: '3'\nvars:\n  A: [1, 2]\n"), invalid(/list values are not supported/))
  t.throws(() => parse("version: '3'\ntasks:\n  a:\n    cmds:\n      - defer: echo x\n"), invalid(/unsupported key "defer"/))
  t.throws(() => parse("version: '3'\ntasks:\n  a:\n    sources: ['{a,b}.ts']\n"), invalid(/not supported in sources/))
  t.throws(() => parse("version: '3'\ntasks:\n  a:\n    cmds: ['echo {{.TIMESTAMP}}']\n"), invalid(/\.TIMESTAMP is not provided/))
})

t.test('the shorthand task forms and cmd entries load', async (t) => {
  const tf = parse("version: '3'\ntasks:\n  one: echo one\n  list: [echo a, echo b]\n  call:\n    cmds:\n      - task: one\n        vars: { X: 1 }\n      - cmd: echo c\n        silent: true\n")
  t.same(tf.tasks.get('one')?.cmds, [{ kind: 'cmd', cmd: 'echo one', silent: false }])
  t.equal(tf.tasks.get('list')?.cmds.length, 2)
  t.same(tf.tasks.get('call')?.cmds, [
    { kind: 'task', task: 'one', vars: [['X', { kind: 'static', value: 1 }]], silent: false },
    { kind: 'cmd', cmd: 'echo c', silent: true },
  ])
})

t.test('YAML errors are Taskfile errors (exit 102)', async (t) => {
  t.throws(() => parse("version: '3'\ntasks:\n  a: [\n"), { code: ExitCode.taskfileInvalid })
  t.throws(() => parse("version: '3'\nversion: '3'\n"), { code: ExitCode.taskfileInvalid })
})
