// status, why and the report asked while a submit runs condor_submit: the submission it is making is being made,
// not one a stopped submit left (which they call lost, to be submitted again next night). Once the submit is gone
// without recording what condor_submit did, the same rows are a stopped submit's again.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { prepareSubmit as prepare, someRuns, TAG } from '../helpers/condor-output.js'
import { FAKES, readFakeState } from '../helpers/fake-condor.js'
import { runStageHere, startScript } from '../helpers/run-script.js'

const until = async (ready: () => boolean, ended: () => boolean) => {
  while (!ready() && !ended()) await new Promise((resolve) => setTimeout(resolve, 50))
}

t.test('while condor_submit runs, its runs are being submitted; after a kill, they are lost', async (t) => {
  const s = await prepare(t, someRuns(2))
  // A condor_submit that says it started, then waits for the test's word before it queues anything.
  const bin = join(s.output, '..', 'gated-bin')
  const started = join(s.output, '..', 'submit.started')
  const go = join(s.output, '..', 'submit.go')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_submit'),
    `#!/bin/sh\necho $$ > "${started}"\nwhile [ ! -e "${go}" ]; do sleep 0.1; done\nexec "${join(FAKES, 'condor_submit')}" "$@"\n`)
  chmodSync(join(bin, 'condor_submit'), 0o755)
  const env = { ...s.env, PATH: `${bin}:${s.env.PATH}` }
  const { child, done } = startScript('submit', ['--output', s.output, '--do-condor-submit'], env)
  let ended = false
  void done.then(() => (ended = true))
  await until(() => existsSync(started) && readFileSync(started, 'utf8').trim() !== '', () => ended)
  if (ended) return t.fail(`the stage ended before condor_submit started: ${(await done).stderr}`)

  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(status.code, 0, status.stderr)
  for (const run of [68001, 68002]) {
    t.match(status.stdout, new RegExp(`^${run} ${TAG} queued: submission \\S+ is being submitted now, by the submit stage \\(pid ${child.pid}\\)`, 'm'))
  }
  t.notMatch(status.stdout, /lost|again/)
  const why = await runStageHere('why', ['--output', s.output, '--run', '68001', '--json'], s.env)
  t.equal(why.code, 0, why.stderr)
  const [story] = JSON.parse(why.stdout) as { submissions: { state: string; detail: string }[]; job: { state: string }; next: string }[]
  t.match(story, { job: { state: 'queued' }, submissions: [{ state: 'submitting', detail: /being submitted now, by the submit stage/ }] })
  t.notMatch(story!.submissions[0]!.detail, /not confirmed|never submitted/)
  const report = await runStageHere('report', ['--output', s.output, '--stdout'], s.env)
  t.equal(report.code, 0, report.stderr)
  t.match(report.stdout, /being submitted now, by the submit stage/)
  t.notMatch(report.stdout, /never submitted/)

  // Stopped for good before it could record anything (SIGKILL: no cleanup): the rows are a stopped submit's.
  child.kill('SIGKILL')
  await done
  const pid = Number(readFileSync(started, 'utf8'))
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
  const after = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, new RegExp(`^68001 ${TAG} new: not submitted yet: last try \\S+ lost: reconciled: was submitting, but neither`, 'm'))
  t.equal(readFakeState(s.state).jobs.length, 0, 'nothing was queued')
})
