// The fakes end as HTCondor's tools do when their reader goes away (`condor_q … | head`; test/fakes/closed-pipe.mjs
// says which tool does what), never with Node's EPIPE stack trace, and the fake queue's lock released.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FAKES, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'

/** Runs a fake with its standard output's reader gone before it writes; its exit code and standard error. */
function runReaderGone(program: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(FAKES, program), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

t.test('each fake ends as its tool does when its reader has gone: condor_history and the helpers die, the rest carry on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'caloprod-closed-pipe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const state = join(dir, 'queue.json')
  const owner = userInfo().username
  const job = (ProcId: number, JobStatus: number) => ({ ClusterId: 1, ProcId, JobStatus, CaloprodRunTag: `6800${ProcId}_tag`, Args: ['a'], Owner: owner })
  const jobs = Array.from({ length: 2000 }, (_, i) => job(i, i % 2 === 0 ? 5 : 4))
  writeFileSync(state, JSON.stringify({ nextCluster: 2, jobs, calls: [] }))
  const env = fakeCondorEnv(state)
  const ends = [
    ['condor_q', ['-af', 'ClusterId', 'ProcId'], 0],
    ['condor_history', ['-af', 'ClusterId', 'ProcId'], 141],
    ['fake-condor', ['list'], 141],
    ['condor_release', jobs.filter((j) => j.JobStatus === 5).map((j) => `1.${j.ProcId}`), 0],
  ] as const
  for (const [program, args, status] of ends) {
    const { code, stderr } = await runReaderGone(program, [...args], env)
    t.equal(stderr, '', `${program}: nothing on standard error`)
    t.equal(code, status, `${program}: exit ${status}, as the tool`)
    t.notOk(existsSync(`${state}.lock`), `${program}: the fake queue's lock released`)
  }
  const held = readFakeState(state).jobs.filter((j) => j.JobStatus === 5)
  t.equal(held.length, 0, 'condor_release went on: every held job released though no one read its lines')
})
