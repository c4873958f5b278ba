// What cron mails when a night fails: the stage's one line, then the runner's `task: Failed to run task ...`
// line (go-task prints the same), and the stage's exit code with -x (201 without it), as the README says.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT, runTaskHere } from './helpers/run-script.js'

const goTask = ['task', 'go-task'].find((name) => spawnSync(name, ['--version'], { encoding: 'utf8' }).stdout?.startsWith('Task version'))

t.test('a failed night prints two lines on stderr: the stage\'s and the runner\'s', async (t) => {
  const file = join(t.testdir(), 'a-file')
  writeFileSync(file, 'not a directory\n')
  const vars = ['--silent', 'submit', `OUTPUT=${file}`]
  const runners: [string, (args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>][] = [
    ['the built-in runner', (args) => runTaskHere(args)],
  ]
  if (goTask) runners.push([goTask, async (args) => {
    const r = spawnSync(goTask, args, { cwd: ROOT, encoding: 'utf8' })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }])
  else t.comment('go-task is not on PATH here: only the built-in runner is checked')
  for (const [name, run] of runners) {
    const passed = await run(['-x', ...vars])
    t.equal(passed.code, 2, `${name} -x: the stage's exit code`)
    t.equal(passed.stdout, '')
    const lines = passed.stderr.split('\n')
    t.equal(lines.length, 3, `${name}: two lines and the final newline: ${passed.stderr}`)
    t.equal(lines[0], `caloprod query: --output ${file} is a file, not a directory`)
    t.match(lines[1], /^task: Failed to run task "submit": .*exit status 2$/)
    t.equal((await run(vars)).code, 201, `${name} without -x: 201`)
  }
})
