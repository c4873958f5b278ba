import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { openAtomicWriter, ownTemp, sameContent, sweepStaleTemps, withOwnTemps, writeFileIfChanged, writePartsIfChanged } from '../../lib/files/atomic.js'

t.test('writeFileIfChanged writes new content and leaves equal content (and its mtime) alone', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'sub', 'a.csv')
  t.equal(await writeFileIfChanged(path, 'one\n'), true)
  const first = (await stat(path)).mtimeMs
  // A rewrite after 20 ms would show in the mtime: a wait for something not to happen (a busy machine waits longer).
  await new Promise((r) => setTimeout(r, 20))
  t.equal(await writeFileIfChanged(path, 'one\n'), false)
  t.equal((await stat(path)).mtimeMs, first)
  t.equal(await writeFileIfChanged(path, 'two\n'), true)
  t.equal(await readFile(path, 'utf8'), 'two\n')
  t.same(readdirSync(join(dir, 'sub')), ['a.csv'], 'no temporary file left')
})

t.test('writeFileIfChanged compares the mode too: a script that lost its executable bit is written again', async (t) => {
  const path = join(t.testdir(), 'genStatus.sh')
  t.equal(await writeFileIfChanged(path, '#!/bin/sh\n', 0o755), true)
  t.equal((await stat(path)).mode & 0o777, 0o755)
  t.equal(await writeFileIfChanged(path, '#!/bin/sh\n', 0o755), false, 'same bytes, same mode: left alone')
  await chmod(path, 0o644)
  t.equal(await writeFileIfChanged(path, '#!/bin/sh\n', 0o755), true, 'same bytes, another mode: repaired')
  t.equal((await stat(path)).mode & 0o777, 0o755)
  const old = process.umask(0o077)
  try {
    await chmod(path, 0o600)
    t.equal(await writeFileIfChanged(path, '#!/bin/sh\n', 0o755), true)
    t.equal((await stat(path)).mode & 0o777, 0o755, 'the mode asked for, whatever the umask')
    t.equal(await writeFileIfChanged(path, '#!/bin/sh\n', 0o755), false, 'and then it is unchanged')
  } finally {
    process.umask(old)
  }
})

t.test('a streamed write is invisible until commit, and abort leaves the old file', async (t) => {
  const dir = t.testdir({ 'big.csv': 'old\n' })
  const path = join(dir, 'big.csv')
  const writer = await openAtomicWriter(path)
  await writer.write('new')
  t.equal(await readFile(path, 'utf8'), 'old\n')
  const temps = readdirSync(dir).filter((f) => f !== 'big.csv')
  t.equal(temps.length, 1)
  t.match(temps[0], /^\.big\.csv\.\d+\.[0-9a-f]+\.tmp$/, 'hidden, suffixed .tmp: no glob takes it for output')
  await writer.abort()
  t.equal(await readFile(path, 'utf8'), 'old\n')
  t.same(readdirSync(dir), ['big.csv'])
  const again = await openAtomicWriter(path)
  await again.write('new\n')
  t.equal(await again.commit(), true)
  t.equal(await readFile(path, 'utf8'), 'new\n')
})

t.test('a streamed write of the same bytes keeps the file untouched', async (t) => {
  const dir = t.testdir({ 'same.csv': 'x'.repeat(3 << 20) })
  const path = join(dir, 'same.csv')
  const before = (await stat(path)).mtimeMs
  const writer = await openAtomicWriter(path)
  for (let i = 0; i < 3; i++) await writer.write('x'.repeat(1 << 20))
  t.equal(await writer.commit(), false)
  t.equal((await stat(path)).mtimeMs, before)
  t.same(readdirSync(dir), ['same.csv'])
})

t.test('writePartsIfChanged writes the parts as one file, only when it changed; a part that throws leaves the old file', async (t) => {
  const dir = t.testdir({ 'page.html': 'old\n' })
  const path = join(dir, 'page.html')
  // More than the writer gathers before it writes (256 KB): the temporary file has bytes when the part throws.
  const big = 'é'.repeat(200 << 10)
  function* failing() {
    yield big
    yield big
    throw new Error('a plot failed')
  }
  await t.rejects(writePartsIfChanged(path, failing()), /a plot failed/)
  t.equal(readFileSync(path, 'utf8'), 'old\n', 'the old file, as it was')
  t.same(readdirSync(dir), ['page.html'], 'no temporary file')
  t.same(await writePartsIfChanged(path, [big, 'x\n']), { changed: true, bytes: (400 << 10) + 2 })
  t.equal(readFileSync(path, 'utf8'), `${big}x\n`)
  t.same(await writePartsIfChanged(path, [big.slice(1), 'éx\n']), { changed: false, bytes: (400 << 10) + 2 }, 'the same bytes in other parts')
  t.same(readdirSync(dir), ['page.html'])
})

t.test('sameContent compares whole files chunk by chunk', async (t) => {
  const dir = t.testdir()
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  await writeFile(a, Buffer.alloc(2 << 20, 1))
  await writeFile(b, Buffer.concat([Buffer.alloc((2 << 20) - 1, 1), Buffer.from([2])]))
  t.equal(await sameContent(a, b), false)
  await writeFile(b, Buffer.alloc(2 << 20, 1))
  t.equal(await sameContent(a, b), true)
  t.equal(await sameContent(a, join(dir, 'missing')), false)
})

t.test('temporary files of dead processes are swept; those of live ones and real files stay', async (t) => {
  const dead = 2 ** 22 + 12345 // above Linux's default pid_max, so never a live process
  const dir = t.testdir({
    [`.query.csv.${dead}.0123abcd.tmp`]: 'partial',
    [`.query.csv.${process.pid}.0123abcd.tmp`]: 'being written',
    'query.csv': 'real',
  })
  t.equal(await sweepStaleTemps(dir), 1)
  t.same(readdirSync(dir).sort(), [`.query.csv.${process.pid}.0123abcd.tmp`, 'query.csv'])
})

t.test('withOwnTemps: what it named goes, however it ended; a temporary name asked for after is refused and removed', async (t) => {
  const dir = t.testdir()
  let late: Promise<unknown> | undefined
  await t.rejects(withOwnTemps(async () => {
    ownTemp(mkdtempSync(join(dir, 'work-')))
    // Asked for after the work ended: its rejection closes its set in microtasks, before any timer runs, so these
    // 50 ms are order, not time, however busy the machine.
    late = new Promise((resolve) => setTimeout(resolve, 50)).then(() => ownTemp(mkdtempSync(join(dir, 'late-'))))
    late.catch(() => {}) // looked at below
    throw new Error('internal')
  }), { message: 'internal' })
  await t.rejects(late!, { code: 'ECANCELED' })
  t.same(readdirSync(dir), [], 'neither folder is left')
})

t.test('writeFileIfChanged and sameContent do not open a FIFO to read it: it is different content, replaced', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'x.list')
  execFileSync('mkfifo', [path])
  t.equal(await writeFileIfChanged(path, ''), true, 'empty content, as a FIFO stats: still written')
  t.ok(statSync(path).isFile())
  const fifo = join(dir, 'y.list')
  execFileSync('mkfifo', [fifo])
  writeFileSync(join(dir, 'empty'), '')
  t.equal(await sameContent(join(dir, 'empty'), fifo), false)
})
