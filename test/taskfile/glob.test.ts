import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { globFiles, matchGlob } from '../../lib/taskfile/glob.js'
import { emptyDir, type Teardown } from './helpers.js'

function tree(t: Teardown, files: string[]): string {
  const dir = emptyDir(t)
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true })
    writeFileSync(join(dir, f), f)
  }
  return dir
}

const rel = (dir: string, files: string[]) => files.map((f) => relative(dir, f))

t.test('"*" and "?" match within one directory level', async (t) => {
  const dir = tree(t, ['a.ts', 'b.ts', 'ab.js', 'sub/c.ts'])
  t.same(rel(dir, matchGlob(dir, '*.ts')).sort(), ['a.ts', 'b.ts'])
  t.same(rel(dir, matchGlob(dir, '?b.js')), ['ab.js'])
})

t.test('"**" matches any depth of directories, including none', async (t) => {
  const dir = tree(t, ['lib/a.ts', 'lib/x/b.ts', 'lib/x/y/c.ts', 'lib/x/y/c.js'])
  t.same(rel(dir, globFiles(dir, [{ glob: 'lib/**/*.ts', exclude: false }])), ['lib/a.ts', 'lib/x/b.ts', 'lib/x/y/c.ts'])
  t.same(rel(dir, globFiles(dir, [{ glob: 'lib/**', exclude: false }])), ['lib/a.ts', 'lib/x/b.ts', 'lib/x/y/c.js', 'lib/x/y/c.ts'])
})

t.test('hidden files: "*" needs a leading "." before any "**"; from a "**" on they match (go-task v3.53)', async (t) => {
  const dir = tree(t, ['src/.hidden.txt', 'src/shown.txt', 'src/.git/x.txt', '.top/a.txt'])
  t.same(rel(dir, globFiles(dir, [{ glob: 'src/**/*.txt', exclude: false }])), ['src/.git/x.txt', 'src/.hidden.txt', 'src/shown.txt'])
  t.same(rel(dir, globFiles(dir, [{ glob: 'src/**', exclude: false }])), ['src/.git/x.txt', 'src/.hidden.txt', 'src/shown.txt'])
  t.same(rel(dir, matchGlob(dir, 'src/*.txt')), ['src/shown.txt'])
  t.same(rel(dir, matchGlob(dir, 'src/.*.txt')), ['src/.hidden.txt'])
  t.same(rel(dir, matchGlob(dir, '*/a.txt')), [], 'a hidden directory before any "**"')
})

t.test('a dangling symlink among the matches drops the whole pattern, as go-task does; other patterns still count', async (t) => {
  const dir = tree(t, ['src/a.txt', 'src/b.txt', 'doc/c.md'])
  symlinkSync(join(dir, 'gone.txt'), join(dir, 'src', 'link.txt'))
  t.same(matchGlob(dir, 'src/*.txt'), [])
  t.same(matchGlob(dir, 'src/link.txt'), [])
  t.same(rel(dir, globFiles(dir, [{ glob: 'src/*.txt', exclude: false }, { glob: 'doc/*.md', exclude: false }])), ['doc/c.md'])
})

t.test('exclude entries remove what earlier entries matched; the result is sorted bytewise', async (t) => {
  const dir = tree(t, ['src/b.txt', 'src/a.txt', 'src/skip.txt', 'src/Z.txt'])
  const files = globFiles(dir, [{ glob: 'src/*.txt', exclude: false }, { glob: 'src/skip.txt', exclude: true }])
  t.same(rel(dir, files), ['src/Z.txt', 'src/a.txt', 'src/b.txt'])
})

t.test('a literal path matches only an existing file, and directories never match', async (t) => {
  const dir = tree(t, ['out/result.txt'])
  t.same(rel(dir, matchGlob(dir, 'out/result.txt')), ['out/result.txt'])
  t.same(matchGlob(dir, 'out/missing.txt'), [])
  t.same(matchGlob(dir, 'out'), [])
  t.same(matchGlob(dir, '*'), [])
})

t.test('"**" does not follow symlinked directories (bash globstar)', async (t) => {
  const dir = tree(t, ['real/a.txt'])
  symlinkSync(join(dir, 'real'), join(dir, 'link'))
  t.same(rel(dir, globFiles(dir, [{ glob: '**/*.txt', exclude: false }])), ['real/a.txt'])
})

t.test('shell expansions go-task would apply are rejected, not half-supported', async (t) => {
  const dir = emptyDir(t)
  for (const p of ['$HOME/x', '~/x', 'src/{a,b}.ts', 'src/[ab].ts', '"quoted"']) t.throws(() => matchGlob(dir, p), /not supported/, p)
})
