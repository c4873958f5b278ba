// The example scripts of README.md's "Scripting caloprod", run as a person runs them, so they never rot.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { readLedger } from '../lib/files/ledger.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'
import { startFakeNopayloaddb } from './fakes/nopayloaddb.mjs'
import { prepareSubmit, someRuns, TAG } from './helpers/condor-output.js'
import { fakeCdb, runListCsv } from './helpers/fake-cdb.js'
import { readFakeState, submitCalls } from './helpers/fake-condor.js'

const run = promisify(execFile)
const ROOT = new URL('..', import.meta.url).pathname

t.test('examples/run-files.ts: the files of one run, and whether each is on disk', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const file = (segment: number) => join(root, `seg${segment}.root`)
  writeFileSync(file(0), 'root file')
  writeFileSync(file(1), '')
  const row = (runnumber: number, segment: number) => ({ runnumber, tag: 'v1', segment, events: 10, full_file_path: file(segment), time: '2025-01-01 00:00:00' })
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, [row(66500, 0), row(66500, 1), row(66500, 2), row(66501, 0)]))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'run-files.ts'), output, '66500'], { cwd: ROOT })
  t.equal(stdout, `v1 0 ${file(0)} 9 bytes\nv1 1 ${file(1)} empty\nv1 2 ${file(2)} absent\n`)
  // A catalog's path that would clear the terminal's line and back over it, as the stages show it.
  const hostile = join(root, 'a\u001b[2K\bb.root')
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, [{ ...row(66502, 0), full_file_path: hostile }]))
  const shown = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'run-files.ts'), output, '66502'], { cwd: ROOT })
  t.equal(shown.stdout, `v1 0 ${join(root, 'a\\u001b[2K\\u0008b.root')} absent\n`)
})

t.test('examples/lacking-payload.ts: which runs of run3pp lack a current CEMC_meanTime, asked of nopayloaddb', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const runList = join(output, 'run3pp.csv')
  writeFileSync(runList, runListCsv([[79150, 'v11'], [79151, 'v11'], [79152, 'v11'], [79153, 'v11']]))
  const cdb = fakeCdb(root, {
    default: 'missing',
    runs: { 79150: 'current', 79151: { '*': 'current', CEMC_meanTime: 'outdated' }, 79153: { '*': 'missing', CEMC_meanTime: 'current' } },
  })
  const server = await startFakeNopayloaddb({ state: cdb.state, runList })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'lacking-payload.ts'), output, 'run3pp', 'CEMC_meanTime'], {
    cwd: ROOT, env: { ...process.env, NOPAYLOADCLIENT_CONF: conf },
  })
  t.equal(stdout, '79151 v11 CEMC_meanTime outdated\n79152 v11 CEMC_meanTime missing\n2 of 4 runs of run3pp lack a current CEMC_meanTime in newcdbtag\n')
  t.equal(server.requests.filter((r) => r.path === 'payloadiovs/').length, 4, 'one request per run')
})

t.test('examples/run-files.ts and lacking-payload.ts: an output directory without the file they read is one line, exit 1', async (t) => {
  // Before: an uncaught InputError, its stack trace and Node's version on stderr.
  const output = join(t.testdir(), 'out')
  mkdirSync(output)
  type Failed = { code: number; stdout: string; stderr: string }
  const fails = (script: string, args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', script), ...args], {
    cwd: ROOT, env: { ...process.env, NOPAYLOADCLIENT_CONF: join(output, 'none.json') },
  }).then(() => undefined, (err: Failed) => err)
  const files = await fails('run-files.ts', [output, '66500'])
  t.equal(files?.code, 1)
  t.match(files?.stderr, new RegExp(`^run-files: ${join(output, 'reduce.csv')}: does not exist; [^\\n]*\\n$`))
  const lacking = await fails('lacking-payload.ts', [output, 'run3pp', 'CEMC_meanTime'])
  t.equal(lacking?.code, 1)
  t.match(lacking?.stderr, new RegExp(`^lacking-payload: ${join(output, 'run3pp.csv')}: does not exist; [^\\n]*\\n$`))
})

t.test('examples/resubmit.ts: one run submitted by hand through the submit stage, in the ledger, never twice', async (t) => {
  const s = await prepareSubmit(t, someRuns(3))
  const script = join(ROOT, 'examples', 'resubmit.ts')
  const env = { ...process.env, ...s.env }
  const resubmit = (...args: string[]) => run(process.execPath, ['--import', 'tsx', script, s.output, ...args], { cwd: ROOT, env })
  const ledger = async () => (await readLedger(join(s.output, 'submissions.csv'))).rows

  const plan = await resubmit('68002')
  const planned = `68002 ${TAG} submit: new: never submitted\nplan: would submit 1 run; nothing changed (--do-condor-submit submits)\n`
  t.equal(plan.stdout, planned, 'the plan of that run only')
  t.equal(submitCalls(s.state), 0, 'without --do-condor-submit nothing is submitted')

  const first = await resubmit('68002', '--do-condor-submit')
  t.match(first.stdout, /^submit: 1 run submitted to cluster 1 \(submissions\/\d{8}T\d{6}Z-1\)\n$/)
  t.match(first.stderr, new RegExp(`^resubmit: 68002 ${TAG} submit: new: never submitted$`, 'm'))
  t.same((await ledger()).map((r) => [r.runnumber, r.attempt, r.state, r.cluster]), [
    [68002, 1, 'submitting', undefined], [68002, 1, 'submitted', 1],
  ])
  t.match((await ledger())[0].detail, /^by hand: condor_submit in submissions\//)
  t.same(readFakeState(s.state).jobs.map((j) => j.CaloprodRunTag), [`68002_${TAG}`], 'one job in the queue, of that run')
  const [frozen] = readdirSync(join(s.output, 'submissions'))
  t.same(readdirSync(join(s.output, 'submissions', frozen, 'datasets')), [`68002_${TAG}.list`], 'a frozen copy of that run only')
  t.notOk(existsSync(join(s.output, '.caloprod.lock')), 'the lock taken for it is released')

  const again = await resubmit('68002', '--do-condor-submit')
  t.equal(again.stdout, 'submit: nothing to submit; 1 in flight\n')
  t.match(again.stderr, new RegExp(`^resubmit: 68002 ${TAG} skip: queued: job 1\\.0 since `, 'm'))
  t.equal(submitCalls(s.state), 1, 'queued: not submitted again')
  t.equal((await ledger()).length, 2)

  type Failed = { code: number; stdout: string; stderr: string }
  const unknown = await resubmit('68099', '--do-condor-submit').then(() => undefined, (err: Failed) => err)
  t.equal(unknown?.code, 2)
  t.equal(unknown?.stdout, '')
  const jobsList = join(s.output, 'condor', 'jobs.list')
  const why = '(not in the process list, or it has no list); nothing was submitted'
  t.equal(unknown?.stderr, `resubmit: run 68099 is not in ${jobsList} ${why}\n`)
  t.equal(submitCalls(s.state), 1)
})
