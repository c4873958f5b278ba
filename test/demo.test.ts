import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateCatalog } from './demo/catalog.js'
import { loadCatalog } from './demo/load.js'
import { freshDatabase } from './helpers/database.js'
import { collectOutput, ROOT, runStageHere } from './helpers/run-script.js'

// The whole demo and five shells after it, each serving the catalog again: well over 180 s on a shared machine.
t.setTimeout(900_000)

t.test('the generated catalog has what the pipeline must handle', async (t) => {
  const runs = [...generateCatalog()]
  const datasets = runs.flatMap((r) => r.datasets)
  const hist = datasets.filter((d) => d.dsttype.startsWith('HIST_CALOQA'))
  const fit = datasets.filter((d) => d.dsttype.startsWith('DST_CALOFITTING'))
  const key = (d: { runnumber: number; tag: string; segment: number }) => `${d.runnumber}/${d.tag}/${d.segment}`
  const fitKeys = new Set(fit.map(key))
  t.ok(hist.some((h) => !fitKeys.has(key(h))), 'histograms without a DST_CALOFITTING twin')
  t.ok(datasets.some((d) => !d.dsttype.includes('CALO')), 'other dataset types as noise')
  t.ok(datasets.some((d) => d.dsttype === 'DST_CALOFITTING_run2pp'), 'old-style dst types that carry the dataset')
  const tagsPerRun = new Map<number, Set<string>>()
  for (const h of hist) tagsPerRun.set(h.runnumber, (tagsPerRun.get(h.runnumber) ?? new Set()).add(h.tag))
  t.ok([...tagsPerRun.values()].some((s) => s.size === 2), 'runs with two tags')
  t.ok([...tagsPerRun.values()].some((s) => s.size === 3), 'runs with three tags')
  const events = new Map<string, number>()
  for (const f of fit) events.set(`${f.runnumber}/${f.tag}`, (events.get(`${f.runnumber}/${f.tag}`) ?? 0) + f.events)
  t.ok([...events.values()].some((e) => e > 500000) && [...events.values()].some((e) => e <= 500000), 'runs on both sides of the threshold')
  const files = runs.flatMap((r) => r.files)
  t.ok(files.every((f) => /^\/sphenix\/(lustre01|gpfs02)\/sphnxpro\/production\//.test(f.full_file_path)), "paths in sPHENIX's style")
  // The cases the rule sets tell apart, and the catalog's traps (README "Rules").
  t.ok(datasets.some((d) => d.dsttype.startsWith('HIST_CALOFITTINGQA')), 'fitting-QA files')
  const qaKeys = new Set(hist.map(key))
  t.ok(datasets.some((d) => d.dsttype.startsWith('HIST_CALOFITTINGQA') && !qaKeys.has(key(d))), 'a fitting-QA segment without a QA file')
  t.ok(datasets.some((d) => d.dsttype.startsWith('HIST_CALOQASKIMMED')), 'skimmed QA files')
  t.ok(datasets.some((d) => d.segment === 9999), 'aggregated segment-9999 files')
  t.ok(datasets.some((d) => d.tag === ''), 'an empty tag')
  const hosts = new Map<string, number>()
  for (const f of files) hosts.set(f.lfn, (hosts.get(f.lfn) ?? 0) + 1)
  t.ok([...hosts.values()].some((n) => n > 1), 'a file on two hosts')
  const plain = [...generateCatalog({ traps: false, fittingQa: false })].flatMap((r) => r.datasets)
  t.same(plain, [...generateCatalog({ traps: false, fittingQa: false })].flatMap((r) => r.datasets), 'without the additions: the same catalog every time')
  t.ok(plain.every((d) => !d.dsttype.includes('SKIMMED') && !d.dsttype.includes('FITTINGQA') && d.segment !== 9999), 'without the additions: none of them')
  t.same([...generateCatalog()], runs, 'the same seed gives the same catalog')
})

t.test('two loads of the demo catalog give byte-identical query outputs', async (t) => {
  // One folder each, both kept: a second t.testdir() would empty the first's, leaving nothing to compare.
  const root = t.testdir()
  const outputs: string[] = []
  for (const name of ['first', 'second']) {
    const { url, sql } = await freshDatabase(t)
    await loadCatalog(sql, { runs: { run2pp: 2, run2auau: 2, run3auau: 8 } })
    const output = join(root, name)
    mkdirSync(output)
    const result = await runStageHere('query', ['--db-url', url, '--output', output, '--min-events', '300k'])
    t.equal(result.code, 0, `${name}: ${result.stderr}`)
    t.equal((await runStageHere('reduce', ['--output', output])).code, 0)
    outputs.push(output)
  }
  for (const file of ['query.csv', 'run3auau.csv', 'reduce.csv']) {
    const [a, b] = await Promise.all(outputs.map((o) => readFile(join(o, file), 'utf8')))
    t.equal(a, b, file)
    t.ok(a.split('\n').length > 2, `${file} is not empty`)
  }
})

t.test('--help (or -h) prints the usage and plays nothing; another flag is one line, exit 2', async (t) => {
  const demo = (...args: string[]) => collectOutput(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'demo.ts'), ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  })).done
  for (const args of [['--help'], ['-h'], ['shell', '--help']]) {
    const help = await demo(...args)
    t.equal(help.code, 0, `${args.join(' ')}: ${help.stderr}`)
    t.match(help.stdout, /^Usage: npm run demo -- \[DIR\]\n {7}npm run demo -- shell \[DIR\] \[-- COMMAND\.\.\.\]\n\n/, args.join(' '))
    t.equal(help.stderr, '', args.join(' '))
  }
  t.notOk(existsSync(join(ROOT, '--help')) || existsSync(join(ROOT, '-h')), 'no demo played in a directory named after the flag')
  const bad = await demo('--bogus')
  t.equal(bad.code, 2)
  t.equal(bad.stderr, 'demo: unknown flag --bogus; npm run demo -- --help shows the usage\n')
  t.equal(bad.stdout, '')
  t.notOk(existsSync(join(ROOT, '--bogus')))
})

t.test("a directory that is not the demo's is refused, never removed: one line, exit 2", async (t) => {
  const root = t.testdir({ mine: { 'thesis.tex': 'years of work', run3auau: {} }, 'a-file': 'text' })
  const demo = (dir: string) => collectOutput(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'demo.ts'), dir], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  })).done
  const held = await demo('mine')
  t.equal(held.code, 2)
  t.equal(held.stderr, 'demo: mine holds "thesis.tex", which no demo makes; the demo removes its directory first: give a new or empty one\n')
  t.equal(readFileSync(join(root, 'mine', 'thesis.tex'), 'utf8'), 'years of work', 'nothing removed')
  t.same(readdirSync(join(root, 'mine')).sort(), ['run3auau', 'thesis.tex'], 'nothing made')
  const file = await demo('a-file')
  t.equal(file.code, 2)
  t.equal(file.stderr, 'demo: a-file is a file; the demo removes its directory first: give a new or empty one\n')
  t.equal(readFileSync(join(root, 'a-file'), 'utf8'), 'text')
})

t.test('after the demo: its commands as printed, and the morning commands against its own fakes', async (t) => {
  const dir = t.testdir()
  // The demo is no stage: it runs as `npm run demo` runs it, through tsx's ES-module loader (it awaits at top level).
  const demo = (...args: string[]) => collectOutput(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'demo.ts'), ...args], {
    cwd: ROOT, env: { ...process.env, SHELL: '/bin/sh' }, stdio: ['ignore', 'pipe', 'pipe'],
  })).done
  const early = await demo('shell', dir, '--', 'true')
  t.equal(early.code, 2, 'a shell before the demo ran is refused')
  t.match(early.stderr, /has no run list: run `npm run demo -- .*` first/)

  const night = await demo(dir)
  t.equal(night.code, 0, night.stderr)
  const exported = night.stdout.split('\n').find((line) => line.startsWith('export '))
  t.ok(exported, 'the environment printed once, as a line a shell takes')
  t.match(exported, new RegExp(`OUTPUT=${join(dir, 'run3auau')} `))
  const commands = night.stdout.split('\n').filter((line) => line.startsWith('$ ')).map((line) => line.slice(2))
  t.ok(commands.includes('node --import tsx tasks/task.ts status'), 'status as it ran: no variable left out')
  t.ok(commands.includes('node --import tsx tasks/task.ts --verbose submit report'))
  t.match(night.stdout, /the morning commands against the demo's fakes: npm run demo -- shell /)
  // A printed command, run by a shell in the printed environment, does what the demo's did.
  const again = spawnSync('sh', ['-c', `${exported}; node --import tsx tasks/task.ts --silent status`], { cwd: ROOT, encoding: 'utf8' })
  t.equal(again.status, 0, again.stderr)
  t.match(again.stdout, /^status: \d+ runs/m)

  const inShell = (command: string) => demo('shell', dir, '--', 'sh', '-c', command)
  const status = await inShell('npm run --silent task -- --silent status')
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /^status: \d+ runs/m)
  const report = await inShell('npm run --silent task -- --silent report -- --stdout')
  t.equal(report.code, 0, report.stderr)
  t.match(report.stdout, /<!doctype html>[^]*<h1>caloprod run3auau<\/h1>/)
  const plan = await inShell('npm run --silent task -- --silent plan')
  t.equal(plan.code, 0, plan.stderr)
  t.match(plan.stdout, /^plan: would submit \d+ runs/m, 'plan reaches the embedded catalog and the fake CDB')
  // README's morning commands include the upload plan: the shell serves the demo's fake nopayloaddb again (before:
  // NOPAYLOADCLIENT_CONF unset, exit 1).
  const upload = await inShell('npm run --silent task -- --silent upload')
  t.equal(upload.code, 0, upload.stderr)
  t.match(upload.stdout, /^upload: .*newcdbtag/m, 'upload reaches the fake nopayloaddb')
})
