// Every error names its file: an output that became a directory (EISDIR), an immutable file (EPERM), a read-only
// mount (EROFS), a directory of another user (EACCES). One line each: the file, what is wrong, what to do; no
// temporary file left; a local file's trouble never blamed on the FileCatalog.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { catalogError } from '../../lib/catalog/errors.js'
import { fileError } from '../../lib/errors.js'
import { canSwitchUser, runAsNobody } from '../helpers/as-nobody.js'
import { someRuns, writeStageInputs } from '../helpers/condor-output.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(300_000)

/** The temporary files under `dir` (a walk of its own: Node 20's recursive readdir trips over an immutable file). */
function temps(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? temps(join(dir, entry.name)) : /\.tmp$/.test(entry.name) ? [join(dir, entry.name)] : [],
  )
}

/** An output directory ready for the condor stage, and the stage's arguments. */
function condorInput(root: string) {
  const output = join(root, 'out')
  writeStageInputs(output, someRuns(2))
  return { output, args: ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs'), '--quiet'] }
}

t.test('an output that became a directory: EISDIR, the file named, no temporary file left', async (t) => {
  const { output, args } = condorInput(t.testdir())
  mkdirSync(join(output, 'condor', 'genStatus.sub'), { recursive: true })
  const result = await runStageHere('condor', args)
  t.equal(result.code, 1)
  t.equal(
    result.stderr,
    `caloprod condor: ${output}/condor/genStatus.sub: is a directory where caloprod reads or writes a file (EISDIR on rename); ` +
      'move that directory away and run again\n',
  )
  t.same(temps(output), [], 'no .tmp left')
})

t.test('an immutable file: EPERM, the file named', async (t) => {
  const { output, args } = condorInput(t.testdir())
  t.equal((await runStageHere('condor', args)).code, 0)
  const script = join(output, 'condor', 'genStatus.sub')
  if (spawnSync('chattr', ['+i', script]).status !== 0) return t.comment('chattr +i is not possible here')
  try {
    const result = await runStageHere('condor', [...args, '--memory', '2'])
    t.equal(result.code, 1)
    t.match(result.stderr, new RegExp(`^caloprod condor: ${script}: operation not permitted \\(EPERM on rename\\); check the owner, mode and attributes .*\\n$`))
  } finally {
    spawnSync('chattr', ['-i', script])
  }
  t.same(temps(output), [])
})

t.test('a read-only mount: EROFS, the lock file named, one line', { skip: !canSwitchUser && 'needs root to mount' }, async (t) => {
  const { output, args } = condorInput(t.testdir())
  if (spawnSync('mount', ['--bind', output, output]).status !== 0) return t.comment('cannot bind-mount here')
  try {
    if (spawnSync('mount', ['-o', 'remount,bind,ro', output]).status !== 0) return t.comment('cannot remount read-only')
    const result = await runStageHere('condor', args)
    t.equal(result.code, 1)
    t.match(result.stderr, new RegExp(`^caloprod condor: ${output}/\\S+: the file system is read-only \\(EROFS on \\w+\\); give an --output on a writable file system .*\\n$`))
  } finally {
    execFileSync('umount', [output])
  }
})

t.test("another user's directory: EACCES, the file named, one line", { skip: !canSwitchUser && 'needs root to run as nobody' }, async (t) => {
  const { output, args } = condorInput(t.testdir())
  const result = await runAsNobody('condor', args, {})
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^caloprod condor: ${output}/\\S+: permission denied \\(EACCES on \\w+\\); check the owner and mode .*\\n$`))
  t.equal(result.stderr.split('\n').length, 2, 'one line')
})

t.test('a local rename that fails while the query runs is the file\'s trouble, not the FileCatalog\'s', async (t) => {
  const err = Object.assign(new Error("EISDIR: illegal operation on a directory, rename '/o/.query.csv.1.tmp' -> '/o/query.csv'"), {
    code: 'EISDIR', syscall: 'rename', path: '/o/.query.csv.1.tmp', dest: '/o/query.csv',
  })
  const line = catalogError(err, 'db:5432/FileCatalog').message
  t.notMatch(line, /FileCatalog/)
  t.match(line, /^\/o\/\.query\.csv\.1\.tmp: is a directory where caloprod reads or writes a file \(EISDIR on rename\)/)
})

t.test('a file where a directory belongs (condor/, log/, submissions/) or a directory at the lock: the path named, what to do', async (t) => {
  const root = t.testdir()
  for (const dir of ['condor', 'log']) {
    const { output, args } = condorInput(join(root, dir))
    rmSync(join(output, dir), { recursive: true, force: true })
    writeFileSync(join(output, dir), 'x\n')
    const result = await runStageHere('condor', args)
    t.equal(result.code, 1, dir)
    // Before: "caloprod condor: Error: EEXIST: file already exists, mkdir '…/condor'".
    t.equal(result.stderr, `caloprod condor: ${output}/${dir}: is a file where a directory belongs (EEXIST on mkdir); move that file away and run again\n`)
  }
  const { output, args } = condorInput(join(root, 'submissions'))
  t.equal((await runStageHere('condor', args)).code, 0)
  writeFileSync(join(output, 'submissions'), 'x\n')
  const env = fakeCondorEnv(join(root, 'condor.json'))
  const submit = await runStageHere('submit', ['--output', output, '--do-condor-submit', '--quiet'], env)
  t.equal(submit.code, 1)
  t.equal(submit.stderr, `caloprod submit: ${output}/submissions: is a file where a directory belongs (EEXIST on mkdir); move that file away and run again\n`)
  t.equal(readFakeState(join(root, 'condor.json')).jobs.length, 0, 'nothing submitted')
  rmSync(join(output, 'submissions'))
  mkdirSync(join(output, '.caloprod.lock'))
  const locked = await runStageHere('condor', args)
  t.equal(locked.code, 1)
  // Before: "caloprod condor: Error: EISDIR: illegal operation on a directory, read", naming no file.
  t.equal(locked.stderr, `caloprod condor: ${output}/.caloprod.lock: is a directory where caloprod reads or writes a file (EISDIR on read); move that directory away and run again\n`)
})

t.test('EEXIST of anything but mkdir (an exclusive create) is no file-in-the-way trouble', async (t) => {
  const err = Object.assign(new Error("EEXIST: file already exists, open '/o/x'"), { code: 'EEXIST', syscall: 'open', path: '/o/x' })
  t.equal(fileError(err), undefined)
  const inWay = Object.assign(new Error("EEXIST: file already exists, mkdir '/o/condor'"), { code: 'EEXIST', syscall: 'mkdir', path: '/o/condor' })
  t.equal(fileError(inWay, '/o/condor/genStatus.sub')?.message, '/o/condor: is a file where a directory belongs (EEXIST on mkdir); move that file away and run again', "mkdir's own path, not the file being written")
})
