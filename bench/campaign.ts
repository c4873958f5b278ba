#!/usr/bin/env -S npx tsx
// A campaign night: the production team released a new tag, so every run of the run type is outdated at once and the
// night must process all of them (thousands) instead of the usual ~180. Synthesizes, for each --runs N, an output
// directory as reduce leaves it (N runs of --segments files each, the files on disk, the fake CDB answering
// "outdated" for every run (check asks it through the fake nopayloaddb, as NOPAYLOADCLIENT_CONF makes it), an
// empty fake queue), then runs each stage after reduce once, in the night's order, as
// a process under GNU time: check, lists, condor, submit --do-condor-submit, status, why --run, report, the upload
// plan. Prints wall and CPU (user + system) seconds and peak RSS per stage and N (GNU time's, the largest of the
// stage and its children, and the stage's own, bench/own-peak.cjs: at 12,000 jobs the fakes are larger), and the
// report page's size;
// CPU is the figure to compare on a loaded machine. With --page, also the page's time to interactive (and to its load
// event's end) in headless Chromium. Not a test: times depend on the machine.
//
//   npx tsx bench/campaign.ts [--runs 180,3000,12000] [--segments 4] [--only check,lists] [--page] [--keep]
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatCsvRecord } from '../lib/files/csv.js'
import { saveState } from '../test/fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../test/fakes/nopayloaddb.mjs'
import { startBrowser, visitFile } from '../test/helpers/browser.js'
import { stageArgs } from '../test/helpers/run-script.js'
import { benchArgs, benchOnly } from './args.js'
import { ROOT } from './measure.js'

const args = benchArgs('campaign', `Usage: npx tsx bench/campaign.ts [--runs 180,3000,12000] [--segments 4] [--only check,lists] [--page] [--keep]
  --only takes the stages' names: check, lists, condor, submit, status, why, report, upload (all run; these are shown)`, {
  string: ['runs', 'segments', 'only'], boolean: ['keep', 'page'], default: { runs: '180,3000,12000', segments: '4' },
})
const sizes = String(args.runs).split(',').map(Number)
const SEGMENTS = Number(args.segments)
const only = benchOnly('campaign', args.only, ['check', 'lists', 'condor', 'submit', 'status', 'why', 'report', 'upload'])
const say = (text: string) => process.stderr.write(`bench campaign: ${text}\n`)
const FAKES = join(ROOT, 'test', 'fakes')
const TAG = 'new_newcdbtag_v009'
const runAt = (i: number) => 66457 + i
const root = mkdtempSync(join(tmpdir(), 'caloprod-bench-campaign-'))

/** reduce's outputs for `count` runs of one (new) tag, and their histogram files on disk. */
function synthesize(output: string, count: number): void {
  mkdirSync(output, { recursive: true })
  const runs = Array.from({ length: count }, (_, i) => runAt(i))
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n${runs.map((r) => `${r},${TAG}\n`).join('')}`)
  const parts = ['runnumber,tag,segment,events,full_file_path,time\n']
  for (const r of runs) {
    const dir = join(output, '..', 'files', `run_${Math.floor(r / 100) * 100}`)
    mkdirSync(dir, { recursive: true })
    for (let s = 0; s < SEGMENTS; s++) {
      const path = join(dir, `HIST_CALOQA_run3auau_${TAG}-000${r}-${String(s).padStart(5, '0')}.root`)
      writeFileSync(path, 'root\n')
      parts.push(formatCsvRecord([r, TAG, s, 200_000, path, '2026-12-06 12:00:00']))
    }
  }
  writeFileSync(join(output, 'reduce.csv'), parts.join(''))
  writeFileSync(join(output, 'query.csv'), parts.join(''))
}

interface Figures { wall: number; cpu: number; rssMb: number; ownMb: number }

/**
 * One node process under GNU time: its wall and CPU seconds, peak RSS (its own or a child's, the larger) and its own
 * peak RSS; throws with its stderr when it fails.
 */
function timed(command: string[], env: NodeJS.ProcessEnv): Promise<Figures> {
  const file = join(root, '.time')
  const own = join(root, '.own-peak')
  rmSync(own, { force: true })
  const [node, ...args] = command
  const started = ['-f', '%e %U %S %M', '-o', file, node!, '-r', join(ROOT, 'bench', 'own-peak.cjs'), ...args]
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', started, {
      cwd: ROOT, env: { ...process.env, ...env, CALOPROD_BENCH_OWN_PEAK: own }, stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${command.slice(1, 3).join(' ')} exited ${code}: ${stderr.trim()}`))
      const [wall, user, system, kb] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
      resolve({ wall: wall!, cpu: user! + system!, rssMb: kb! / 1024, ownMb: Number(readFileSync(own, 'utf8')) / 1024 })
    })
  })
}

const rows: string[] = []
try {
  const browser = args.page ? await startBrowser() : undefined
  for (const n of sizes) {
    const base = join(root, String(n))
    const output = join(base, 'run3auau')
    let started = Date.now()
    synthesize(output, n)
    say(`${n} runs synthesized in ${((Date.now() - started) / 1000).toFixed(0)} s: ${output}`)
    const cdbState = join(base, 'cdb.json')
    saveState(cdbState, { default: 'outdated', runs: {} })
    const server = await startFakeNopayloaddb({ state: cdbState })
    const env = {
      PATH: `${FAKES}:${process.env.PATH}`, FAKE_CDB_STATE: cdbState, FAKE_CONDOR_STATE: join(base, 'condor.json'),
      CALOPROD_SPHENIX_SETUP: join(FAKES, 'sphenix_setup.sh'), CALOPROD_BIN_FILTER_DATASETS: join(FAKES, 'CaloCDB-FilterDatasets'),
      CALOPROD_BIN_GENSTATUS: join(FAKES, 'CaloCDB-GenStatus'), CALOPROD_CONDOR_LOG_DIR: join(base, 'condor-log'),
      NOPAYLOADCLIENT_CONF: server.writeConfig(join(base, 'npc.json'), { write_dir: join(base, 'store') }), UV_THREADPOOL_SIZE: '64',
    }
    const common = ['--run-type', 'run3auau', '--output', output]
    const stages: [string, string[]][] = [
      ['check', stageArgs('check', ...common, '--quiet')],
      ['lists', stageArgs('lists', ...common, '--min-events', '0', '--quiet')],
      ['condor', stageArgs('condor', ...common, '--quiet')],
      ['submit', stageArgs('submit', ...common, '--do-condor-submit', '--quiet')],
      ['status', stageArgs('status', ...common)],
      ['why', stageArgs('why', ...common, '--run', String(runAt(Math.floor(n / 2))))],
      ['report', stageArgs('report', ...common, '--quiet')],
      ['upload', stageArgs('upload', ...common)],
    ]
    try {
      for (const [name, command] of stages) {
        // Every stage runs (each needs the one before); only the chosen ones are reported.
        started = Date.now()
        const f = await timed([process.execPath, ...command], env)
        if (only && !only.has(name)) continue
        let remark = ''
        if (name === 'report') {
          const page = join(output, 'report.html')
          remark = `${(statSync(page).size / 1e6).toFixed(2)} MB page`
          if (browser) {
            const visit = await visitFile(browser, page)
            remark += `, interactive in ${(visit.interactiveMs / 1000).toFixed(2)} s in Chromium, loaded in ${(visit.loadMs / 1000).toFixed(2)} s`
            await visit.page.close()
          }
        }
        rows.push(`| ${name} | ${n} | ${f.wall.toFixed(2)} | ${f.cpu.toFixed(2)} | ${f.rssMb.toFixed(0)} | ${f.ownMb.toFixed(0)} | ${remark} |`)
        say(rows.at(-1)!)
      }
    } finally {
      await server.close()
    }
    if (!args.keep) rmSync(base, { recursive: true, force: true })
  }
  await browser?.close()
  process.stdout.write(`load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n\n` +
    `| stage | runs to process | wall s | CPU s | peak RSS MB | its own | |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n${rows.join('\n')}\n`)
} finally {
  if (args.keep) say(`kept ${root}`)
  else rmSync(root, { recursive: true, force: true })
}
