// Read-only looks: a colleague without write access, or anyone on a read-only mount, runs status and report
// (--stdout, --output-file) and gets the answer; none of them writes a log or anything else in the output directory.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fingerprint, someRuns, writeStageInputs } from './helpers/condor-output.js'
import { FAKE_GENSTATUS, fakeCondor, fakeCondorEnv } from './helpers/fake-condor.js'
import { canSwitchUser, runAsNobody as asNobody } from './helpers/as-nobody.js'
import { runStageHere } from './helpers/run-script.js'

// Several stage processes started as another user, on a machine shared by many.
t.setTimeout(300_000)

/** An output directory after one submission: queued, running and held runs, a page written. */
async function preparedOutput(root: string) {
  const output = join(root, 'out')
  // The fake scheduler's queue lives apart: it records each call, so it must stay writable for whoever asks.
  const queue = join(root, 'queue')
  mkdirSync(queue, { mode: 0o777 })
  chmodSync(queue, 0o777)
  const env = fakeCondorEnv(join(queue, 'condor.json'))
  writeStageInputs(output, someRuns(4))
  t.equal((await runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs')], env)).code, 0)
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await fakeCondor(join(queue, 'condor.json'), 'set', '1.1', 'held', 'reason=over memory')
  chmodSync(join(queue, 'condor.json'), 0o666)
  return { output, env }
}

t.test('status and report --stdout/--output-file work for another user on a directory they cannot write, and write nothing there', { skip: !canSwitchUser && 'needs root to run as nobody' }, async (t) => {
  const root = t.testdir()
  chmodSync(root, 0o755)
  const { output, env } = await preparedOutput(root)
  execFileSync('chmod', ['-R', 'a-w,a+rX', output])
  const before = fingerprint(output)

  const status = await asNobody('status', ['--output', output], env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /^68002 new_newcdbtag_v008 held: job 1\.1 since .*: over memory$/m)
  t.match(status.stdout, /^status: 4 runs: 3 queued, 1 held$/m)

  const page = await asNobody('report', ['--output', output, '--stdout'], env)
  t.equal(page.code, 0, page.stderr)
  t.match(page.stdout, /^<!doctype html>/, 'the page, and only the page, on stdout')
  t.match(page.stdout, /<\/html>\n$/)

  const elsewhere = join(root, 'mine')
  mkdirSync(elsewhere, { mode: 0o777 })
  chmodSync(elsewhere, 0o777)
  const file = await asNobody('report', ['--output', output, '--output-file', join(elsewhere, 'page.html')], env)
  t.equal(file.code, 0, file.stderr)
  t.match(file.stdout, /^report: 4 runs: .*; .*\/mine\/page\.html$/m)
  t.match(readFileSync(join(elsewhere, 'page.html'), 'utf8'), /^<!doctype html>[^]*<\/html>\n$/)

  t.same(fingerprint(output), before, 'nothing in the output directory changed, the log included')
})

t.test('status and report --stdout on a read-only bind mount', { skip: !canSwitchUser && 'needs root to mount' }, async (t) => {
  const root = t.testdir()
  const { output, env } = await preparedOutput(root)
  // Mounted read-only on its own path: the scheduler knows the jobs by the output directory's path.
  const bind = spawnSync('mount', ['--bind', output, output], { encoding: 'utf8' })
  if (bind.status !== 0) return t.comment(`cannot bind-mount here: ${bind.stderr}`)
  try {
    if (spawnSync('mount', ['-o', 'remount,bind,ro', output]).status !== 0) return t.comment('cannot remount read-only here')
    const before = fingerprint(output)
    const status = await runStageHere('status', ['--output', output], env)
    t.equal(status.code, 0, status.stderr)
    t.match(status.stdout, /^status: 4 runs: 3 queued, 1 held$/m)
    const page = await runStageHere('report', ['--output', output, '--stdout'], env)
    t.equal(page.code, 0, page.stderr)
    t.match(page.stdout, /^<!doctype html>[^]*<\/html>\n$/)
    t.same(fingerprint(output), before, 'nothing written through the mount, the log included')
  } finally {
    spawnSync('umount', [output])
  }
})
