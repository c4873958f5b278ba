// A year of nights makes submissions.csv, uploads.csv and log/run-states.csv the largest files the report reads (a
// hundred MB of uploads: bench/year-old.ts): the report stage opens each of them once, seen from outside with strace;
// and each job folder of its runs to process, which its stories tell from (a campaign night's thousands).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { currentPayloadFile, SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { appendUploads } from '../../lib/upload/ledger.js'
import { someRuns, stagedOutput, TAG } from '../helpers/condor-output.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { ROOT, runStageHere, stageArgs } from '../helpers/run-script.js'
import { straceWorks } from '../helpers/strace.js'

t.setTimeout(300_000)

t.test('the report opens the ledger, the upload ledger and the run-state history once each', { skip: straceWorks() }, async (t) => {
  const { root, output, queue, env } = await stagedOutput(t, someRuns(3), { runList: true, condor: true })
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await fakeCondor(queue, 'set', '1.1', 'completed', 'exit=0')
  // An upload tried for the finished run, so the page and its stories read uploads.csv's rows.
  await appendUploads(join(output, 'uploads.csv'), SEVEN_PAYLOAD_TYPES.map((type) => ({
    time: new Date().toISOString(), runnumber: 68002, tag: TAG, type, globalTag: 'newcdbtag', state: 'failed' as const,
    checksum: 'a'.repeat(32), piov: undefined, url: `${type}/aa/aa/x.root`, detail: 'POST piov answered 400: refused',
  })))
  // A first report records the states, so the next has a history to compare with since the last good night.
  t.equal((await runStageHere('report', ['--output', output], env)).code, 0)

  const trace = join(root, 'trace')
  const report = spawnSync('strace', ['-f', '-o', trace, '-e', 'trace=open,openat,openat2', process.execPath, ...stageArgs('report', '--output', output)],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' })
  t.equal(report.status, 0, report.stderr)
  t.match(readFileSync(join(output, 'report.html'), 'utf8'), /upload unfinished/, 'the page tells the upload, from uploads.csv')
  const opened = readFileSync(trace, 'utf8').split('\n').filter((line) => !line.includes('ENOENT'))
  for (const file of ['submissions.csv', 'uploads.csv', join('log', 'run-states.csv')]) {
    const path = JSON.stringify(join(output, file))
    t.equal(opened.filter((line) => line.includes(path)).length, 1, `${file} is opened once`)
  }
})

t.test("the report reads each job folder once, and none that is not there: the stories tell from gather's reads", { skip: straceWorks() }, async (t) => {
  const { root, output, queue, env } = await stagedOutput(t, someRuns(3), { runList: true, condor: true })
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  // 68002's job finished and wrote one payload of seven into its folder; 68001's and 68003's are queued, no folder yet.
  await fakeCondor(queue, 'set', '1.1', 'completed', 'exit=0')
  const folder = join(output, 'output', `68002_${TAG}`)
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, currentPayloadFile('CEMC_meanTime', TAG, 68002)), 'root')

  const trace = join(root, 'trace')
  const report = spawnSync('strace', ['-f', '-o', trace, '-e', 'trace=open,openat,openat2', process.execPath, ...stageArgs('report', '--output', output)],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' })
  t.equal(report.status, 0, report.stderr)
  const page = readFileSync(join(output, 'report.html'), 'utf8')
  t.match(page, /incomplete: genStatus wrote no [^;]*HCALIN_meanTime[^;]*, so the CDB will still lack them/, "the finished run's story tells what its folder holds")
  const lines = readFileSync(trace, 'utf8').split('\n')
  t.equal(lines.filter((line) => line.includes(JSON.stringify(folder)) && !line.includes('ENOENT')).length, 1, "the finished run's folder is opened once")
  t.same(lines.filter((line) => line.includes(`"${join(output, 'output')}/`) && line.includes('ENOENT')), [], 'no folder that is not there is tried')
})
