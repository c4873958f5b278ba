// lib/condor/freeze.ts: the frozen copy condor_submit runs from. Its content (the submit file, the script, the
// lists and a jobs.list naming the copies), its name (time and a number that only grows), and that it appears
// whole or not at all: no partial directory under a real name, half-built ones of killed runs swept.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freezeSubmission } from '../../lib/condor/freeze.js'
import { UsageError } from '../../lib/errors.js'
import type { Job } from '../../lib/condor/jobs-list.js'
import { prepareSubmit, someRuns, TAG } from '../helpers/condor-output.js'
import { deadPid } from '../helpers/processes.js'

const NOW = new Date('2025-01-01T02:00:00.000Z')

/** An output directory with condor/ and the lists of `runs` runs written, and its jobs. */
async function prepared(t: Test, runs = 2, name = 'out') {
  const p = await prepareSubmit(t, someRuns(runs), name)
  const jobs: Job[] = someRuns(runs).map((r) => ({ runnumber: r.run, tag: TAG, list: join(p.output, 'datasets', `${r.run}_${TAG}.list`) }))
  return { output: p.output, root: join(p.output, 'submissions'), jobs }
}

const read = (path: string) => readFileSync(path, 'utf8')

t.test('the frozen copy: the submit file, the script, the lists and a jobs.list of the copies', async (t) => {
  const { output, root, jobs } = await prepared(t)
  const frozen = await freezeSubmission(output, jobs, NOW)
  const dir = join(root, '20250101T020000Z-1')
  t.equal(frozen.name, '20250101T020000Z-1', 'named by the time of submission and its number')
  t.equal(frozen.dir, dir)
  t.same(readdirSync(dir).sort(), ['datasets', 'error', 'genStatus.sh', 'genStatus.sub', 'jobs.list', 'stdout'])
  t.same(readdirSync(join(dir, 'stdout')), [], 'empty folders for the jobs to write to')
  t.same(readdirSync(join(dir, 'error')), [])
  t.equal(read(join(dir, 'genStatus.sub')), read(join(output, 'condor', 'genStatus.sub')))
  t.equal(read(join(dir, 'genStatus.sh')), read(join(output, 'condor', 'genStatus.sh')))
  t.equal(statSync(join(dir, 'genStatus.sh')).mode & 0o777, 0o755, 'the script is executable')
  for (const job of jobs) t.equal(read(join(dir, 'datasets', `${job.runnumber}_${TAG}.list`)), read(job.list))
  t.same(frozen.jobs, jobs.map((job) => ({ ...job, list: join(dir, 'datasets', `${job.runnumber}_${TAG}.list`) })))
  t.equal(read(join(dir, 'jobs.list')), frozen.jobs.map((job) => `${job.list}\n`).join(''), 'jobs.list names the copies')
  t.same(readdirSync(root), ['20250101T020000Z-1'], 'nothing else in submissions/')
})

t.test('a copy, not links: later runs that rewrite condor/ and datasets/ leave it as it was', async (t) => {
  const { output, jobs } = await prepared(t)
  const frozen = await freezeSubmission(output, jobs, NOW)
  const before = read(frozen.jobs[0].list)
  writeFileSync(jobs[0].list, '/sphenix/lustre/another.root\n')
  writeFileSync(join(output, 'condor', 'genStatus.sub'), 'rewritten\n')
  t.equal(read(frozen.jobs[0].list), before)
  t.not(read(join(frozen.dir, 'genStatus.sub')), 'rewritten\n')
})

t.test('the number only grows: one more than the highest so far, whatever the time', async (t) => {
  const { output, root, jobs } = await prepared(t)
  t.equal((await freezeSubmission(output, jobs, NOW)).name, '20250101T020000Z-1')
  t.equal((await freezeSubmission(output, jobs, NOW)).name, '20250101T020000Z-2', 'the same second twice: two names')
  mkdirSync(join(root, '20240601T000000Z-7'))
  mkdirSync(join(root, 'notes-99'))
  const later = await freezeSubmission(output, jobs, new Date('2025-01-02T03:04:05.678Z'))
  t.equal(later.name, '20250102T030405Z-8', 'after an older -7; other names do not count')
})

t.test('a failure while building leaves no directory under a real name, and no half-built one', async (t) => {
  const { output, root, jobs } = await prepared(t)
  const missing = { ...jobs[1], list: join(output, 'datasets', `68999_${TAG}.list`) }
  await t.rejects(freezeSubmission(output, [jobs[0], missing], NOW), { code: 'ENOENT' })
  t.same(readdirSync(root), [], 'nothing in submissions/')

  const script = join(output, 'condor', 'genStatus.sh')
  renameSync(script, `${script}.away`)
  await t.rejects(freezeSubmission(output, jobs, NOW), { code: 'ENOENT', path: script })
  t.same(readdirSync(root), [], 'nor after a condor/ without its script')
  renameSync(`${script}.away`, script)
  t.equal((await freezeSubmission(output, jobs, NOW)).name, '20250101T020000Z-1', 'a failed try uses up no number')
})

t.test('while it is built, no directory appears under a real name that is not whole', async (t) => {
  const { output, root, jobs } = await prepared(t, 150)
  const whole = (name: string) =>
    readdirSync(join(root, name)).sort().join(' ') === 'datasets error genStatus.sh genStatus.sub jobs.list stdout' &&
    readdirSync(join(root, name, 'datasets')).length === jobs.length &&
    read(join(root, name, 'jobs.list')).split('\n').length === jobs.length + 1
  mkdirSync(root)
  let done = false
  let looks = 0
  let hidden = 0
  const seen: string[] = []
  const watch = (async () => {
    // Between every step of the build (each one awaits the file system), look at what submissions/ shows.
    while (!done) {
      looks++
      for (const name of readdirSync(root)) {
        if (name.startsWith('.')) hidden++
        else if (!whole(name)) seen.push(name)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const frozen = await freezeSubmission(output, jobs, NOW)
  done = true
  await watch
  t.same(seen, [], `no partial copy in ${looks} looks`)
  t.ok(hidden > 0, 'the copy was seen being built under its hidden name')
  t.ok(whole(frozen.name))
})

t.test('half-built copies of killed runs are swept; one being built by a live run is left alone', async (t) => {
  const { output, root, jobs } = await prepared(t)
  const gone = await deadPid()
  const killed = join(root, `.20241231T020000Z-4.${gone}.0123abcd.tmp`)
  const building = join(root, `.20250101T015959Z-5.${process.pid}.89abcdef.tmp`)
  for (const dir of [killed, building]) {
    mkdirSync(join(dir, 'datasets'), { recursive: true })
    writeFileSync(join(dir, 'jobs.list'), '/half\n')
  }
  const frozen = await freezeSubmission(output, jobs, NOW)
  t.equal(frozen.name, '20250101T020000Z-1', 'hidden half-built names never count')
  t.same(readdirSync(root).sort(), [`.20250101T015959Z-5.${process.pid}.89abcdef.tmp`, '20250101T020000Z-1'])
})

t.test('an output directory whose path condor_submit cannot pass to a job is refused before anything is copied', async (t) => {
  const parent = t.testdir()
  for (const [name, why] of [["it's here", 'holds a quote'], ['cost$(x)', 'would expand as a macro']]) {
    const output = join(parent, name)
    mkdirSync(join(output, 'datasets'), { recursive: true })
    const jobs: Job[] = [{ runnumber: 68001, tag: TAG, list: join(output, 'datasets', `68001_${TAG}.list`) }]
    const error = await freezeSubmission(output, jobs, NOW).catch((err: unknown) => err)
    t.type(error, UsageError, name)
    const message = (error as Error).message
    t.ok(message.startsWith(`cannot submit from ${join(output, 'submissions', '20250101T020000Z-1')}: `), 'names the directory')
    t.ok(message.includes(why) && message.endsWith('; choose another output directory'), `says why: ${why}`)
    t.same(readdirSync(join(output, 'submissions')), [], `${name}: nothing built`)
  }
})
