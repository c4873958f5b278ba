import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { wrapperScript } from '../lib/condor.js'
import { fingerprint, TAG, writeStageInputs } from './helpers/condor-output.js'
import { FAKE_GENSTATUS, FAKE_SPHENIX_SETUP, FAKES } from './helpers/fake-condor.js'
import { runStageHere } from './helpers/run-script.js'

const condor = (output: string, ...flags: string[]) =>
  runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(output, '..', 'logs'), ...flags])

t.test('writes jobs.list, genStatus.sub and genStatus.sh for the runs of the process list that have a list', async (t) => {
  const output = join(t.testdir(), 'out')
  writeStageInputs(output, [
    { run: 68010, tag: TAG, files: ['/d/b.root'] },
    { run: 68002, tag: TAG, files: ['/d/a.root'] },
    { run: 68005, tag: TAG }, // no list: the lists stage found too few files
  ])
  writeFileSync(join(output, 'datasets', `60000_${TAG}.list`), '/d/old.root\n') // a run no longer in the process list
  writeFileSync(join(output, 'datasets', '.68002_x.list.123.abcd0123.tmp'), '') // a killed writer's temporary file
  writeFileSync(join(output, 'datasets', `068010_${TAG}.list`), '/d/mine.root\n') // a person's file: lists have no leading zero
  const result = await condor(output, '--memory', '2')
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, `condor: 2 jobs (1 stale list ignored, 1 run without a list); ${join(output, 'condor')} updated\n`)
  t.equal(result.stderr, '', 'a quiet night says nothing on stderr')
  const dir = join(output, 'condor')
  t.equal(readFileSync(join(dir, 'jobs.list'), 'utf8'), `${join(output, 'datasets', `68002_${TAG}.list`)}\n${join(output, 'datasets', `68010_${TAG}.list`)}\n`)
  const sub = readFileSync(join(dir, 'genStatus.sub'), 'utf8')
  t.match(sub, /^executable\s+= genStatus\.sh$/m)
  t.match(sub, new RegExp(`^arguments\\s+= "'${FAKE_GENSTATUS}' '\\$\\(input_run\\)' '${output}/output'"$`, 'm'))
  t.match(sub, /^request_memory\s+= 2048MB$/m)
  t.match(sub, new RegExp(`^log\\s+= ${join(output, '..', 'logs')}/job-\\$\\(ClusterId\\)-\\$\\(ProcId\\)\\.log$`, 'm'))
  t.match(sub, /^output\s+= stdout\/job-\$\(ClusterId\)-\$\(ProcId\)\.out$/m)
  t.match(sub, /^error\s+= error\/job-\$\(ClusterId\)-\$\(ProcId\)\.err$/m)
  t.match(sub, /^\+CaloprodRunTag\s+= "\$Fn\(input_run\)"$/m)
  t.match(sub, new RegExp(`^\\+CaloprodOutput\\s+= "${output}"$`, 'm'))
  t.notMatch(sub, /^queue/m, 'the queue statement is given on the command line')
  t.equal(readFileSync(join(dir, 'genStatus.sh'), 'utf8'), wrapperScript())
  t.equal(statSync(join(dir, 'genStatus.sh')).mode & 0o111, 0o111, 'the wrapper is executable')
  t.ok(statSync(join(output, '..', 'logs')).isDirectory(), 'the condor log directory the submit file names exists')

  const before = fingerprint(dir)
  const again = await condor(output, '--memory', '2')
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /condor\/? unchanged/)
  t.same(fingerprint(dir), before, 'a re-run with the same inputs leaves bytes and mtimes alone')
})

t.test('--condor-script replaces the generated wrapper; no runs gives an empty jobs.list', async (t) => {
  const output = join(t.testdir(), 'out')
  writeStageInputs(output, [])
  const custom = join(output, '..', 'mine.sh')
  writeFileSync(custom, '#!/bin/bash\necho custom "$@"\n')
  const result = await condor(output, '--condor-script', custom)
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /condor: 0 jobs;/)
  t.equal(readFileSync(join(output, 'condor', 'genStatus.sh'), 'utf8'), '#!/bin/bash\necho custom "$@"\n')
  t.equal(readFileSync(join(output, 'condor', 'jobs.list'), 'utf8'), '')
})

t.test('refuses what a job could not run with, saying what to do, and writes nothing', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  const noBin = await runStageHere('condor', ['--output', output], { OFFLINE_MAIN: '' })
  t.equal(noBin.code, 2)
  t.match(noBin.stderr, /^caloprod condor: no genStatus binary: OFFLINE_MAIN is not set; give --bin-genStatus PATH/)
  const missing = await runStageHere('condor', ['--output', output, '--bin-genStatus', join(root, 'nope')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /genStatus binary .*nope is not an executable file/)
  t.notOk(existsSync(join(output, 'condor')), 'nothing written')

  const quoted = join(root, "o'neil")
  writeStageInputs(quoted, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  const quote = await condor(quoted)
  t.equal(quote.code, 2)
  t.match(quote.stderr, /--output .* holds a quote, which condor_submit cannot pass through \$\(input_run\) unchanged; .*choose another output directory/)
  t.notOk(existsSync(join(quoted, 'condor')))

  const noProcess = join(root, 'fresh')
  mkdirSync(noProcess)
  const early = await condor(noProcess)
  t.equal(early.code, 1)
  t.match(early.stderr, /run3auau-process\.csv: does not exist; run the check stage first/)

  const notDir = join(root, 'a-file')
  writeFileSync(notDir, '')
  const noLogDir = await runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(notDir, 'x')])
  t.equal(noLogDir.code, 2)
  t.match(noLogDir.stderr, /^caloprod condor: --condor-log-dir .*a-file\/x cannot be created \(ENOTDIR\); give one you can write\n$/)
  t.notOk(existsSync(join(output, 'condor')), 'nothing written')
})

/** Runs a wrapper as condor would: its arguments as given, a scratch directory, the fake sPHENIX setup. */
function runWrapper(script: string, args: string[], env: Record<string, string | undefined>) {
  return spawnSync(script, args, { encoding: 'utf8', env: { ...process.env, CALOPROD_SPHENIX_SETUP: FAKE_SPHENIX_SETUP, ...env } })
}

t.test('genStatus.sh runs genStatus in the scratch directory and copies its output, paths with spaces and $ intact', async (t) => {
  const root = t.testdir()
  const script = join(root, 'genStatus.sh')
  writeFileSync(script, wrapperScript(), { mode: 0o755 })
  const odd = join(root, "odd dir $HOME `x` ; & 'q'")
  mkdirSync(odd)
  const list = join(odd, `68006_${TAG}.list`)
  writeFileSync(list, '/d/a.root\n/d/b.root\n')
  const outdir = join(odd, 'output')
  const scratch = join(root, 'scratch')
  mkdirSync(scratch)

  const ok = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: scratch })
  t.equal(ok.status, 0, ok.stderr)
  const dir = join(outdir, `68006_${TAG}`)
  t.same(readdirSync(dir).sort(), [
    `CEMC_hotTowers_fracBadChi2_${TAG}_68006.root`, `CEMC_meanTime_${TAG}_68006.root`, `EMCalHotMap_${TAG}_68006cdb.root`,
    `HCALIN_hotTowers_fracBadChi2_${TAG}_68006.root`, `HCALIN_meanTime_${TAG}_68006.root`,
    `HCALOUT_hotTowers_fracBadChi2_${TAG}_68006.root`, `HCALOUT_meanTime_${TAG}_68006.root`, 'QA',
  ])
  t.ok(existsSync(join(dir, 'QA', `EMCalHotMap_${TAG}_68006.root`)))
  t.match(readFileSync(join(dir, `CEMC_meanTime_${TAG}_68006.root`), 'utf8'), /from 2 files/)
  t.ok(existsSync(join(scratch, 'output', `68006_${TAG}`)), 'genStatus worked in the scratch directory')

  const noScratch = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: undefined })
  t.not(noScratch.status, 0)
  t.match(noScratch.stderr, /_CONDOR_SCRATCH_DIR is not set/)

  const failing = join(root, 'out-fail')
  const fails = runWrapper(script, [FAKE_GENSTATUS, list, failing], { _CONDOR_SCRATCH_DIR: scratch, FAKE_GENSTATUS_EXIT: '3' })
  t.equal(fails.status, 3, "the job's exit code is genStatus's")
  t.match(fails.stderr, /failed \(exit 3\).*nothing copied/)
  t.notOk(existsSync(failing))

  const badSetup = join(root, 'setup.sh')
  writeFileSync(badSetup, 'return 4\n')
  const setup = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: scratch, CALOPROD_SPHENIX_SETUP: badSetup })
  t.equal(setup.status, 1)
  t.match(setup.stderr, /sourcing .*setup\.sh -n new failed \(exit 4\)/)

  const usage = runWrapper(script, [FAKE_GENSTATUS, list], { _CONDOR_SCRATCH_DIR: scratch })
  t.equal(usage.status, 2)
  t.match(usage.stderr, /expected 3 arguments/)
  t.ok(existsSync(join(FAKES, 'sphenix_setup.sh')))
})

t.test('a genStatus.sh that lost its executable bit is repaired by the next run', async (t) => {
  const output = join(t.testdir(), 'out')
  writeStageInputs(output, [{ run: 68002, tag: TAG, files: ['/d/a.root'] }])
  t.equal((await condor(output)).code, 0)
  const script = join(output, 'condor', 'genStatus.sh')
  chmodSync(script, 0o644)
  const again = await condor(output)
  t.equal(again.code, 0, again.stderr)
  t.equal(statSync(script).mode & 0o777, 0o755, 'executable again')
  t.match(again.stdout, /updated/)
})

/** A wrapper in a fresh folder, a list of two files for run 68006, and the OUTDIR and scratch a job would get. */
function wrapperSetup(t: Test) {
  const root = t.testdir()
  const script = join(root, 'genStatus.sh')
  writeFileSync(script, wrapperScript(), { mode: 0o755 })
  const list = join(root, `68006_${TAG}.list`)
  writeFileSync(list, '/d/HIST_CALOQA_a.root\n/d/HIST_CALOQA_b.root\n')
  const scratch = join(root, 'scratch')
  mkdirSync(scratch)
  return { root, script, list, outdir: join(root, 'output'), scratch, run: join(root, 'output', `68006_${TAG}`) }
}

t.test("genStatus.sh replaces the run's folder whole: nothing of an earlier attempt stays beside this one's files", async (t) => {
  const { script, list, outdir, scratch, run } = wrapperSetup(t)
  // An earlier attempt of the run: a payload this attempt does not write (its histogram is empty now), and the
  // hidden copy of an attempt killed while copying.
  mkdirSync(join(run, 'QA'), { recursive: true })
  writeFileSync(join(run, `HCALIN_meanTime_${TAG}_68006.root`), 'root from an earlier attempt\n')
  const killed = join(outdir, `.68006_${TAG}.caloprod-new.worker.123`)
  mkdirSync(killed)
  writeFileSync(join(killed, `CEMC_meanTime_${TAG}_68006.root`), 'root half')

  const ok = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: scratch, FAKE_GENSTATUS_SKIP: 'HCALIN_meanTime' })
  t.equal(ok.status, 0, ok.stderr)
  t.notOk(existsSync(join(run, `HCALIN_meanTime_${TAG}_68006.root`)), "the earlier attempt's payload is gone")
  t.match(readFileSync(join(run, `CEMC_meanTime_${TAG}_68006.root`), 'utf8'), /from 2 files/)
  t.same(readdirSync(outdir), [`68006_${TAG}`], 'no hidden copy is left, of this attempt or a killed one')
  t.notOk(existsSync(join(run, 'CaloValid.list')), "genStatus's CaloValid.list stays in the scratch directory")
})

t.test('genStatus.sh fails the job when CaloCDB-GenStatus, exiting 0, could read nothing', async (t) => {
  const { root, script, list, outdir, scratch } = wrapperSetup(t)
  // The fake, like the real program, exits 0 with an empty <run>_<tag>/QA/ when it cannot open the list.
  const direct = spawnSync(FAKE_GENSTATUS, [join(root, `68007_${TAG}.list`)], { cwd: scratch, encoding: 'utf8' })
  t.equal(direct.status, 0)
  t.match(direct.stdout, /Failed to open file list/)
  t.same(readdirSync(join(scratch, 'output', `68007_${TAG}`)), ['QA'])

  const noList = runWrapper(script, [FAKE_GENSTATUS, join(root, 'gone', `68006_${TAG}.list`), outdir], { _CONDOR_SCRATCH_DIR: scratch })
  t.equal(noList.status, 1)
  t.match(noList.stderr, /^genStatus\.sh: cannot read the file list .*gone\/68006_.*\.list on .*; nothing run, nothing copied\n$/)
  t.notOk(existsSync(outdir))

  const unreadable = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: scratch, FAKE_GENSTATUS_UNREADABLE: '1' })
  t.equal(unreadable.status, 1)
  t.match(unreadable.stdout, /EMCal Hot Map FAILED to Create/)
  t.match(unreadable.stderr, /wrote no file under \.\/output for .*68006_.*\.list \(see its stdout\); nothing copied/)
  t.notOk(existsSync(outdir))
})

t.test('genStatus.sh killed by the memory limit after genStatus wrote some payloads: its signal, nothing copied', async (t) => {
  const { script, list, outdir, scratch } = wrapperSetup(t)
  const killed = runWrapper(script, [FAKE_GENSTATUS, list, outdir], { _CONDOR_SCRATCH_DIR: scratch, FAKE_GENSTATUS_SIGNAL: 'KILL' })
  t.equal(killed.status, 137, 'bash reports a child killed by SIGKILL as 128 + 9')
  t.match(killed.stderr, /failed \(exit 137\).*nothing copied/)
  t.notOk(existsSync(outdir))
})

t.test('refuses a binary, log folder or resolved output directory holding "$$(", which the schedd expands at match time', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  const binDir = join(root, 'bin$$(Name)')
  mkdirSync(binDir)
  const bin = join(binDir, 'CaloCDB-GenStatus')
  writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 })
  const badBin = await runStageHere('condor', ['--output', output, '--bin-genStatus', bin, '--condor-log-dir', join(root, 'logs')])
  t.equal(badBin.code, 2)
  t.match(badBin.stderr, /^caloprod condor: genStatus binary ".*bin\$\$\(Name\)\/CaloCDB-GenStatus" holds "\$\$\(", which HTCondor expands when the job is matched to a machine; give --bin-genStatus PATH/)

  const badLog = await runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs$$(Name)')])
  t.equal(badLog.code, 2)
  t.match(badLog.stderr, /^caloprod condor: --condor-log-dir ".*logs\$\$\(Name\)" holds "\$\$\(", which HTCondor expands when the job is matched to a machine\n$/)

  // The output directory named through a symlink: jobs carry its real path (CaloprodOutput).
  const real = join(root, 'real$$(Name)')
  writeStageInputs(real, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  const link = join(root, 'link')
  symlinkSync(real, link)
  const badReal = await condor(link)
  t.equal(badReal.code, 2)
  t.match(badReal.stderr, /^caloprod condor: --output .*link resolves to ".*real\$\$\(Name\)" holds "\$\$\(", which HTCondor expands when the job is matched to a machine; choose another output directory\n$/)
  t.notOk(existsSync(join(real, 'condor')), 'nothing written')
  t.notOk(existsSync(join(output, 'condor')), 'nothing written')
})
