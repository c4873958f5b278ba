#!/usr/bin/env -S npx tsx
// Measures the report stage on a Run 3-sized output directory it synthesizes (no PostgreSQL, no CDB): 3,000 runs of
// 150 files each in reduce.csv, 300 to process (1,025 files missing), a ledger of 30 nights and their jobs in the
// fake HTCondor. Then the page in headless Chromium: its size and how soon it is interactive.
// Not a test: times depend on the machine. Usage: npx tsx bench/report.ts [--runs 3000] [--nights 30] [--repeat 3] [--keep]
// (--keep leaves the synthesized directory in place and names it, for profiling).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LEDGER_TABLE, type LedgerRow } from '../lib/files/ledger.js'
import { formatCsv, formatCsvRecord } from '../lib/files/csv.js'
import { startBrowser, visitFile } from '../test/helpers/browser.js'
import { stageArgs } from '../test/helpers/run-script.js'
import { benchArgs } from './args.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const args = benchArgs('report', 'Usage: npx tsx bench/report.ts [--runs 3000] [--nights 30] [--repeat 3] [--keep]', {
  string: ['runs', 'nights', 'repeat'], boolean: ['keep'], default: { runs: '3000', nights: '30', repeat: '3' },
})
const RUNS = Number(args.runs)
const NIGHTS = Number(args.nights)
const TAG = 'new_newcdbtag_v008'
const SEGMENTS = 150
const say = (text: string) => process.stderr.write(`bench report: ${text}\n`)

const dir = mkdtempSync(join(tmpdir(), 'caloprod-bench-report-'))
const output = join(dir, 'run3auau')
const condorState = join(dir, 'condor.json')
const now = Date.now()
const day = 86400_000
const iso = (t: number) => new Date(t).toISOString()
const run = (i: number) => 66457 + i * 4
const pathOf = (r: number, segment: number) =>
  `/sphenix/lustre01/sphnxpro/production/run3auau/physics/${TAG}/HIST_CALOQA/run_000${Math.floor(r / 100) * 100}/HIST_CALOQA_run3auau_${TAG}-000${r}-${String(segment).padStart(5, '0')}.root`

/** A Run 3-sized output directory: what thirty nights of the pipeline leave. */
function synthesize(): void {
  mkdirSync(join(output, 'datasets'), { recursive: true })
  const runs = Array.from({ length: RUNS }, (_, i) => run(i))
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n${runs.map((r) => `${r},${TAG}\n`).join('')}`)
  // The newest tenth is still to process; the rest settled.
  const toProcess = runs.slice(Math.floor(RUNS * 0.9))
  const settledRuns = runs.slice(0, Math.floor(RUNS * 0.9))
  writeFileSync(join(output, 'run3auau-process.csv'), `runnumber,tag\n${toProcess.map((r) => `${r},${TAG}\n`).join('')}`)
  writeFileSync(join(output, 'run3auau-settled.csv'), `runnumber,tag,checked_at\n${settledRuns.map((r) => `${r},${TAG},${iso(now - day)}\n`).join('')}`)
  const missing: string[] = []
  let reduce = 'runnumber,tag,segment,events,full_file_path,time\n'
  const parts: string[] = [reduce]
  for (const r of runs) {
    let chunk = ''
    for (let s = 0; s < SEGMENTS; s++) chunk += formatCsvRecord([r, TAG, s, 9000 + ((r * 7 + s * 13) % 2000), pathOf(r, s), '2026-07-01 12:00:00'])
    parts.push(chunk)
  }
  reduce = parts.join('')
  writeFileSync(join(output, 'reduce.csv'), reduce)
  for (let k = 0; k < 1025; k++) missing.push(pathOf(toProcess[(k * 7) % toProcess.length]!, (k * 11) % SEGMENTS))
  writeFileSync(join(output, 'run3auau-missing.csv'), `full_file_path\n${[...new Set(missing)].sort().map((p) => `${p}\n`).join('')}`)
  for (const r of toProcess.slice(5)) writeFileSync(join(output, 'datasets', `${r}_${TAG}.list`), `${pathOf(r, 0)}\n`)
  writeFileSync(join(output, 'run3auau-check.json'), `${JSON.stringify({ runs: RUNS, to_process: toProcess.length, payload_types: {
    CEMC_BadTowerMap: { missing: 250, outdated: 50 }, CEMC_meanTime: { missing: 250, outdated: 50 }, HCALIN_meanTime: { missing: 240, outdated: 50 },
    HCALOUT_meanTime: { missing: 240, outdated: 50 }, CEMC_hotTowers_fracBadChi2: { missing: 250, outdated: 50 },
    HCALIN_hotTowers_fracBadChi2: { missing: 245, outdated: 50 }, HCALOUT_hotTowers_fracBadChi2: { missing: 245, outdated: 50 } } }, null, 2)}\n`)

  // Thirty nights: each submits the runs that appeared that day, and retries one in ten of the night before's.
  const ledger: LedgerRow[] = []
  const jobs: object[] = []
  const perNight = Math.ceil(RUNS / NIGHTS)
  let cluster = 0
  for (let n = 0; n < NIGHTS; n++) {
    const at = now - (NIGHTS - n) * day + 2 * 3600_000
    const fresh = runs.slice(n * perNight, (n + 1) * perNight)
    const retries = n > 0 ? runs.slice((n - 1) * perNight, n * perNight).filter((_, i) => i % 10 === 0) : []
    const submitted = [...retries, ...fresh]
    if (submitted.length === 0) continue
    cluster++
    const submission = `${iso(at).replace(/[-:]/g, '').slice(0, 15)}Z-${cluster}`
    submitted.forEach((r, proc) => {
      const attempt = retries.includes(r) ? 2 : 1
      const base = { runnumber: r, tag: TAG, attempt, submission, detail: '' }
      ledger.push({ ...base, time: iso(at), state: 'submitting', cluster: undefined, proc: undefined })
      ledger.push({ ...base, time: iso(at + 1000), state: 'submitted', cluster, proc })
      const recent = n >= NIGHTS - 2
      const failedFirst = attempt === 1 && fresh.indexOf(r) % 10 === 0 && n < NIGHTS - 1
      const status = recent ? [1, 2, 5][proc % 3]! : 4
      jobs.push({
        ClusterId: cluster, ProcId: proc, JobStatus: status, ExitCode: status === 4 ? (failedFirst ? 1 : 0) : undefined,
        HoldReason: status === 5 ? 'Job has gone over memory limit of 512 megabytes' : undefined,
        EnteredCurrentStatus: Math.floor((at + 3 * 3600_000) / 1000), Iwd: output, Cmd: 'genStatus.sh', Args: [], Arguments: '',
        CaloprodRunTag: `${r}_${TAG}`, CaloprodOutput: output,
      })
    })
  }
  writeFileSync(join(output, 'submissions.csv'), formatCsv(LEDGER_TABLE, ledger))
  writeFileSync(condorState, JSON.stringify({ nextCluster: cluster + 1, jobs, calls: [] }))
  say(`${RUNS} runs, ${RUNS * SEGMENTS} rows of reduce.csv (${(statSync(join(output, 'reduce.csv')).size / 1e6).toFixed(0)} MB), ${ledger.length} ledger rows over ${NIGHTS} nights, ${jobs.length} jobs`)
}

/** One run of the report as the Taskfile starts it, under GNU time: wall seconds and peak RSS in MB. */
function measure(): { seconds: number; cpu: number; mb: number } {
  const timeFile = join(dir, '.time')
  const env = { ...process.env, PATH: `${join(ROOT, 'test', 'fakes')}:${process.env.PATH}`, FAKE_CONDOR_STATE: condorState }
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, ...stageArgs('report', '--output', output, '--quiet')], { cwd: ROOT, env, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`report exited ${result.status}: ${result.stderr}`)
  const [seconds, user, sys, kb] = spawnSync('tail', ['-1', timeFile], { encoding: 'utf8' }).stdout.trim().split(' ').map(Number)
  return { seconds: seconds!, cpu: user! + sys!, mb: kb! / 1024 }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

try {
  synthesize()
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const samples = Array.from({ length: Number(args.repeat) + 1 }, measure).slice(1) // the first warms the page cache
  const seconds = median(samples.map((s) => s.seconds))
  const mb = median(samples.map((s) => s.mb))
  const cpu = median(samples.map((s) => s.cpu))
  const page = join(output, 'report.html')
  const bytes = statSync(page).size
  const browser = await startBrowser()
  let interactive: number[] = []
  try {
    for (let i = 0; i < 4; i++) {
      const visit = await visitFile(browser, page)
      if (visit.consoleErrors.length || visit.requestsOutsideFile.length) throw new Error(`the page misbehaved: ${[...visit.consoleErrors, ...visit.requestsOutsideFile].join('; ')}`)
      if (i > 0) interactive.push(visit.interactiveMs)
      await visit.page.close()
    }
  } finally {
    await browser.close()
  }
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL')
  const ms = median(interactive)
  process.stdout.write(
    `load average before: ${loadBefore}\n` +
    '| measure | value | target | |\n| --- | ---: | --- | --- |\n' +
      `| report wall s (median of ${samples.length}) | ${seconds.toFixed(2)} | ≤ 3 s | ${verdict(seconds <= 3)} |\n` +
      `| report CPU s, user + sys (fake condor_q and condor_history included) | ${cpu.toFixed(2)} | | |\n` +
      `| report peak RSS MB | ${mb.toFixed(0)} | < 150 MB | ${verdict(mb < 150)} |\n` +
      `| report.html MB | ${(bytes / 1e6).toFixed(2)} | ≤ 3 MB | ${verdict(bytes <= 3e6)} |\n` +
      `| interactive in Chromium ms (DOMContentLoaded, median of 3) | ${ms.toFixed(0)} | ≤ 1000 ms | ${verdict(ms <= 1000)} |\n`,
  )
} finally {
  if (args.keep) say(`kept ${dir}`)
  else rmSync(dir, { recursive: true, force: true })
}
