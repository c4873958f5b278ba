// status, why and the report asked while `upload --do-cdb-upload` runs: the payloads it is putting into the CDB are
// being uploaded, not an upload that stopped half-way (which they call unfinished, for a person to run again). Once
// the upload is gone without finishing, the same rows are an interrupted upload's again, and the report puts the run
// among those that need a person.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TAG } from '../helpers/condor-output.js'
import { runStageHere, startScript } from '../helpers/run-script.js'
import { ACT, pauseUploadAt, prepareUpload } from '../helpers/upload-setup.js'

const until = async (ready: () => boolean, ended: () => boolean) => {
  while (!ready() && !ended()) await new Promise((resolve) => setTimeout(resolve, 50))
}

type Story = { uploads: { type: string; state: string; detail: string }[]; next: string }

/** The rows of the report's "Runs that need a person" table: run and what. */
const attention = (html: string) => [...(html.match(/<table[^>]*attention-table[\s\S]*?<\/table>/)?.[0] ?? '')
  .matchAll(/<tr><td>(\d+)<\/td><td>[^<]*<\/td><td class="what">([^<]*)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`)

t.test('while upload attaches a payload, its run is being uploaded; after a kill, its upload is unfinished', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  // why tells a run reduce kept: the run list the process list came from.
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  const [paused, go] = [join(s.output, '..', 'upload.paused'), join(s.output, '..', 'upload.go')]
  // Held before its third attach: two payloads of 68001 in the CDB, the third made (`created`) and not attached yet.
  const env = { ...s.env, ...pauseUploadAt('before PUT piov_attach', 3, paused, go) }
  const { child, done } = startScript('upload', ['--output', s.output, ...ACT], env)
  t.teardown(() => void child.kill('SIGKILL'))
  let ended = false
  void done.then(() => (ended = true))
  await until(() => existsSync(paused) && readFileSync(paused, 'utf8') !== '', () => ended)
  if (ended) return t.fail(`the upload ended before its third attach: ${(await done).stderr}`)
  t.match(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), /,68001,\S+,HCALIN_meanTime,newcdbtag,created,/, 'held with a payload made, not attached')

  const by = `by the upload stage \\(pid ${child.pid}\\)`
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, new RegExp(`^68001 ${TAG} done: being uploaded now into newcdbtag, ${by} on .*: 2 of 7 payloads in the CDB so far; job `, 'm'))
  t.notMatch(status.stdout, /unfinished|partly|interrupted|again/)
  const why = await runStageHere('why', ['--output', s.output, '--run', '68001', '--json'], s.env)
  t.equal(why.code, 0, why.stderr)
  const [story] = JSON.parse(why.stdout) as Story[]
  t.match(story!.next, new RegExp(`^being uploaded now into newcdbtag, ${by}`))
  t.match(story!.uploads.find((u) => u.type === 'HCALIN_meanTime'), { state: 'created', detail: new RegExp(`being uploaded now, ${by}`) })
  const report = await runStageHere('report', ['--output', s.output, '--stdout'], s.env)
  t.equal(report.code, 0, report.stderr)
  t.match(report.stdout, new RegExp(`being uploaded now into newcdbtag, ${by}`))
  t.notMatch(report.stdout, /upload unfinished|partly uploaded|run upload again/)
  t.same(attention(report.stdout), [], 'no run needs a person while its upload runs')

  // Stopped for good before it could attach (SIGKILL: no cleanup, the lock left behind): an upload that stopped half-way.
  child.kill('SIGKILL')
  t.equal((await done).signal, 'SIGKILL')
  const after = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, new RegExp(`^68001 ${TAG} done: partly uploaded: 2 of 7 payloads in the CDB \\(newcdbtag\\), not HCALIN_meanTime, .*: run upload again; the last at \\S+: piov \\d+ made, to attach to \\S+; job `, 'm'))
  t.notMatch(after.stdout, /being uploaded/)
  const [told] = JSON.parse((await runStageHere('why', ['--output', s.output, '--run', '68001', '--json'], s.env)).stdout) as Story[]
  t.match(told, { next: /^partly uploaded: 2 of 7 payloads/ })
  t.notMatch(told!.uploads.find((u) => u.type === 'HCALIN_meanTime')!.detail, /being uploaded/)
  const page = (await runStageHere('report', ['--output', s.output, '--stdout'], s.env)).stdout
  t.notMatch(page, /being uploaded now/)
  t.same(attention(page), ['68001 upload unfinished'], 'the run whose upload stopped needs a person; 68002, never tried, does not')
})

t.test('while upload makes its first payload IOV, its run is being uploaded; after a kill, interrupted', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  const [paused, go] = [join(s.output, '..', 'upload.paused'), join(s.output, '..', 'upload.go')]
  // Held before its first POST piov: one `uploading` row, nothing in the CDB yet.
  const { child, done } = startScript('upload', ['--output', s.output, ...ACT], { ...s.env, ...pauseUploadAt('before POST piov', 1, paused, go) })
  t.teardown(() => void child.kill('SIGKILL'))
  let ended = false
  void done.then(() => (ended = true))
  await until(() => existsSync(paused) && readFileSync(paused, 'utf8') !== '', () => ended)
  if (ended) return t.fail(`the upload ended before its first POST: ${(await done).stderr}`)
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status.stdout, new RegExp(`^68001 ${TAG} done: being uploaded now into newcdbtag, by the upload stage \\(pid ${child.pid}\\) .*: 0 of 7 payloads in the CDB so far; `, 'm'))
  t.notMatch(status.stdout, /unfinished|interrupted/)

  child.kill('SIGKILL')
  await done
  const after = await runStageHere('status', ['--output', s.output], s.env)
  t.match(after.stdout, new RegExp(`^68001 ${TAG} done: upload unfinished: 1 payload not in the CDB \\(newcdbtag\\): 1 interrupted; the last at \\S+: see uploads.csv; run upload again once that is fixed; `, 'm'))
})
