// What cron mails when a night fails: the stage's one line, the report's (submit writes the page whatever failed:
// here it cannot either), then go-task's `task: Failed to run task ...` line, and the stage's exit code with -x
// (201 without it), as the README says.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runTask } from './helpers/run-script.js'

t.test('a failed night prints the stage\'s line, the report\'s and go-task\'s', async (t) => {
  const file = join(t.testdir(), 'a-file')
  writeFileSync(file, 'not a directory\n')
  const vars = ['--silent', 'submit', `OUTPUT=${file}`]
  const failed = await runTask(['-x', ...vars])
  t.equal(failed.code, 2, "-x: the stage's exit code")
  t.equal(failed.stdout, '')
  const lines = failed.stderr.split('\n')
  t.equal(lines.length, 4, `three lines and the final newline: ${failed.stderr}`)
  t.equal(lines[0], `caloprod query: --output ${file} is a file, not a directory`)
  t.equal(lines[1], `caloprod report: --output ${file} is a file, not a directory`)
  t.match(lines[2], /^task: Failed to run task "submit": .*task: Failed to run task "query": exit status 2$/)
  t.equal((await runTask(vars)).code, 201, 'without -x: 201')
})
