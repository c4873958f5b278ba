// A full disk under the output directory: the stage says which file it could not write and how much room is
// left, not "FileCatalog ...: ENOSPC" as if the catalog had failed; nothing half-written is left.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadCatalog } from '../demo/load.js'
import { freshDatabase } from '../helpers/database.js'
import { TAG, writeStageInputs } from '../helpers/condor-output.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { askCdb } from '../../lib/cdb/ask.js'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'

/** A 2 MB tmpfs, unmounted and removed when the test ends; it needs root, elsewhere the test says why it did not run. */
function mountTmpfs(t: Test): { disk?: string; why?: string } {
  if (process.getuid?.() !== 0) return { why: 'needs root to mount a tmpfs' }
  const disk = mkdtempSync(join(tmpdir(), 'caloprod-disk-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    rmSync(disk, { recursive: true })
    return { why: `mount -t tmpfs failed: ${mounted.stderr.trim()}` }
  }
  t.teardown(() => {
    execFileSync('umount', [disk])
    rmSync(disk, { recursive: true })
  })
  return { disk }
}

/** Fills the file system of `dir` but for about `leave` bytes. */
function fill(dir: string, leave: number): void {
  const { bavail, bsize } = statfsSync(dir)
  writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, Number(bavail) * Number(bsize) - leave)))
}

const allFiles = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort()

t.test('query with its output on a full 2 MB tmpfs: the file and the free space named, the old query.csv kept', async (t) => {
  const { disk, why } = mountTmpfs(t)
  if (!disk) return t.skip(why ?? 'no tmpfs', async () => {})
  const db = await freshDatabase(t)
  await loadCatalog(db.sql, { root: join(disk, 'files') })
  const output = join(disk, 'out')
  mkdirSync(output)
  writeFileSync(join(output, '.caloprod.run-type'), 'run3auau\n') // a directory of earlier nights
  fill(disk, 64 << 10)
  const before = allFiles(output)
  const result = await runStageHere('query', ['--output', output, '--quiet'], { CALOPROD_DB_URL: db.url })
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^caloprod query: cannot write ${output}/query\\.csv: no space left on the device \\(ENOSPC\\); \\d+(\\.\\d)? (bytes|KB) free in ${output}\\n$`))
  t.comment(result.stderr.trim())
  t.notMatch(result.stderr, /FileCatalog/)
  t.same(allFiles(output).filter((f) => !f.startsWith('log/')), before, 'no query.csv, no temporary file')
})

t.test('condor with its output on a full disk names the file it was writing', async (t) => {
  const { disk, why } = mountTmpfs(t)
  if (!disk) return t.skip(why ?? 'no tmpfs', async () => {})
  const output = join(disk, 'out')
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  mkdirSync(join(output, 'log'))
  writeFileSync(join(output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'x'.repeat(8000)) // room for the log's lines
  fill(disk, 0)
  const result = await runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(output, 'logs'), '--quiet'])
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^caloprod condor: cannot write ${output}/(condor/\\S+|log/\\S+\\.log): no space left on the device \\(ENOSPC\\); 0 bytes free in `))
})

/** Two runs' submission ready under `disk` (the condor stage run, the log given room for its lines), before it fills. */
async function readyToSubmit(t: Test, disk: string) {
  const output = join(disk, 'out')
  const queue = join(t.testdir(), 'condor.json')
  const env = fakeCondorEnv(queue)
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }, { run: 68002, tag: TAG, files: ['/d/b.root'] }])
  t.equal((await runStageHere('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(output, 'logs'), '--quiet'], env)).code, 0)
  writeFileSync(join(output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'x'.repeat(8000), { flag: 'a' })
  return { output, env, queue }
}

t.test('submit on a full disk names the file it was writing, leaves no temporary file and submits nothing', async (t) => {
  const { disk, why } = mountTmpfs(t)
  if (!disk) return t.skip(why ?? 'no tmpfs', async () => {})
  const { output, env, queue } = await readyToSubmit(t, disk)
  fill(disk, 0)
  const result = await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^caloprod submit: cannot write ${output}/\\S+: no space left on the device \\(ENOSPC\\); 0 bytes free in \\S+\\n$`))
  t.same(allFiles(output).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left')
  t.equal(readFakeState(queue).jobs.length, 0, 'nothing submitted')
})

t.test("the check's working folder on a full TMPDIR: the file, the free space and TMPDIR named, not the CDB", async (t) => {
  const { disk, why } = mountTmpfs(t)
  if (!disk) return t.skip(why ?? 'no tmpfs', async () => {})
  fill(disk, 0)
  const root = mkdtempSync(join(tmpdir(), 'caloprod-test-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const cdb = fakeCdb(root, { default: 'current', runs: {} })
  const runs = [{ runnumber: 66500, tag: 'v8' }, { runnumber: 66501, tag: 'v8' }]
  const asked = askCdb(runs, {
    bin: FAKE_FILTER_DATASETS, payloadTypes: SEVEN_PAYLOAD_TYPES, jobs: 2, timeoutMs: 20000, attempts: 1,
    env: { ...process.env, ...fakeCdbEnv(cdb) }, log: { info: () => {}, warn: () => {}, summary: () => {} }, tempRoot: disk,
  })
  await t.rejects(asked, { message: /^CDB check stopped: cannot write .*caloprod-check-.*: no space left on the device \(ENOSPC\); .* free in .* \(its working folder .*: TMPDIR\); nothing was written$/ })
  t.same(readdirSync(disk).filter((name) => name.startsWith('caloprod-')), [], 'its working folder removed')
})

t.test('submit with a little room left names the frozen submission\'s file it was writing, not a bare "write"', async (t) => {
  const { disk, why } = mountTmpfs(t)
  if (!disk) return t.skip(why ?? 'no tmpfs', async () => {})
  const { output, env, queue } = await readyToSubmit(t, disk)
  // Room for the log, the lock and the scheduler's answers, not for the frozen copy of condor/ and the lists.
  fill(disk, 16 << 10)
  const result = await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)
  t.equal(result.code, 1)
  // Before: "caloprod submit: Error: ENOSPC: no space left on device, write".
  t.match(result.stderr, new RegExp(`^caloprod submit: cannot write ${output}/submissions/\\d{8}T\\d{6}Z-1/\\S+: no space left on the device \\(ENOSPC\\); \\d+(\\.\\d)? (bytes|KB) free in ${output}/submissions\\n$`))
  t.comment(result.stderr.trim())
  t.same(readdirSync(join(output, 'submissions')), [], 'no half-built submission left')
  t.equal(readFakeState(queue).jobs.length, 0, 'nothing submitted')
})
