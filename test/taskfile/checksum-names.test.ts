// go-task keeps a task's checksum of its sources in a file named after its label, every character but letters and
// digits made `-` (fingerprint/sources_checksum.go, normalizeFilename). reduce's label carries its variables, so
// two output directories whose names differ only there (calo/run, calo_run) must still keep apart: after reduce's
// code changed, a night of the one must not make the other's reduce "up to date" with outputs of the old code.
// The code is changed in a copy of the project, never in this one.
import { appendFileSync, cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import t from 'tap'
import { nightWorld } from '../helpers/night-world.js'
import { ROOT, runTask } from '../helpers/run-script.js'

t.setTimeout(600_000)

t.test('reduce after a change of its code: OUTPUT=calo/run then OUTPUT=calo_run both run it', async (t) => {
  const { dir, env } = await nightWorld(t, 'checksum-names', 3)
  const project = join(dir, 'project')
  for (const entry of ['Taskfile.yml', 'tasks', 'lib', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, entry), join(project, entry), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'))
  const reduce = (output: string) => runTask(['--verbose', '-x', 'reduce', `OUTPUT=${join(dir, output)}`], env, project)
  const upToDate = /Task "reduce-[^"]*" is up to date/
  mkdirSync(join(dir, 'calo')) // query makes an output directory, not its parents

  for (const output of ['calo/run', 'calo_run']) {
    const first = await reduce(output)
    t.equal(first.code, 0, first.stderr)
    t.notMatch(first.stderr, upToDate, `${output}: the first night runs reduce`)
    t.match((await reduce(output)).stderr, upToDate, `${output}: the next finds it up to date`)
  }
  appendFileSync(join(project, 'lib', 'reduce.ts'), '// a change of reduce\'s code\n')
  for (const output of ['calo/run', 'calo_run']) {
    const changed = await reduce(output)
    t.equal(changed.code, 0, changed.stderr)
    t.notMatch(changed.stderr, upToDate, `${output}: its code changed since its last reduce: it runs (calo_run was skipped)`)
    t.match((await reduce(output)).stderr, upToDate, `${output}: and is up to date after`)
  }
})

t.test('a long OUTPUT and a long RULES path: the checksum file name stays within 255 bytes', async (t) => {
  const { dir, env } = await nightWorld(t, 'checksum-long', 3)
  // Each well within PATH_MAX; together, in go-task's label, past NAME_MAX (255).
  const output = join(dir, 'o'.repeat(100), 'p'.repeat(100))
  const rules = join(dir, 'r'.repeat(100), 'site-rules.yaml')
  mkdirSync(dirname(rules), { recursive: true })
  mkdirSync(dirname(output)) // query makes an output directory, not its parents
  writeFileSync(rules, 'extends: seed\n')
  const reduce = () => runTask(['--verbose', '-x', 'reduce', `OUTPUT=${output}`, `RULES=${rules}`], env)
  const first = await reduce()
  t.equal(first.code, 0, first.stderr)
  t.notMatch(first.stderr, /file name too long/, 'the night ran (it failed: "open .task/checksum/reduce-…: file name too long", exit 201)')
  t.match((await reduce()).stderr, /Task "reduce-[^"]*" is up to date/, 'and the next finds reduce up to date')
  for (const name of readdirSync(join(dir, '.task'), { recursive: true, encoding: 'utf8' })) t.ok(basename(name).length <= 255, name)
})
