#!/usr/bin/env -S npx tsx
// What a year of nights costs: synthesizes a year-old output directory and a fresh one with the same runs to process
// (bench/year-old-dir.ts), then measures, as processes under GNU time, the stages that read the history: a quiet
// night's submit and report, and the morning's status, status --since, why --run and the upload plan. Prints the
// history's size and a table of wall seconds and peak RSS, fresh against year-old (median of --repeat after one
// warm-up). Not a test: times depend on the machine.
//
//   npx tsx bench/year-old.ts [--nights 365] [--per-night 180] [--runs 3000] [--segments 30] [--repeat 3] [--keep]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { saveState } from '../test/fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../test/fakes/nopayloaddb.mjs'
import { stageArgs } from '../test/helpers/run-script.js'
import { benchArgs } from './args.js'
import { measure, ROOT, type Sample } from './measure.js'
import { synthesizeYear, type YearDir } from './year-old-dir.js'

const args = benchArgs('year-old', 'Usage: npx tsx bench/year-old.ts [--nights 365] [--per-night 180] [--runs 3000] [--segments 30] [--repeat 3] [--keep]', {
  string: ['nights', 'per-night', 'runs', 'segments', 'repeat'], boolean: ['keep'],
  default: { nights: '365', 'per-night': '180', runs: '3000', segments: '30', repeat: '3' },
})
const say = (text: string) => process.stderr.write(`bench year-old: ${text}\n`)
const root = mkdtempSync(join(tmpdir(), 'caloprod-bench-year-'))
// The year ends at the start of today (UTC), the morning after its last night: the stages measure time by the clock,
// and a year ending later (it ended on 2027-07-01) put its last nights in their future.
const end = Math.floor(Date.now() / 86_400_000) * 86_400_000
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

/** The du of each thing that grows, in the year-old directory. */
function sizes(output: string): string[] {
  const du = (path: string) => execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]
  const files = (path: string) => execFileSync('sh', ['-c', 'find "$1" -type f | wc -l', 'sh', path], { encoding: 'utf8' }).trim()
  const lines = (path: string) => execFileSync('wc', ['-l', path], { encoding: 'utf8' }).split(' ')[0]
  return ['submissions.csv', 'uploads.csv', 'log/run-states.csv', 'log/last-night.json'].map((name) =>
    `| ${name} | ${(Number(du(join(output, name))) / 1e6).toFixed(2)} MB | ${lines(join(output, name))} lines |`)
    .concat(['submissions', 'log', 'output'].map((name) =>
      `| ${name}/ | ${(Number(du(join(output, name))) / 1e6).toFixed(1)} MB | ${files(join(output, name))} files |`))
}

try {
  const started = Date.now()
  const { year, fresh } = await synthesizeYear(root, {
    nights: Number(args.nights), perNight: Number(args['per-night']), runs: Number(args.runs), segments: Number(args.segments),
  }, end, say)
  say(`synthesized in ${((Date.now() - started) / 1000).toFixed(0)} s: ${root}`)
  const cdbState = join(root, 'cdb.json')
  saveState(cdbState, { default: 'missing', runs: {} })
  const server = await startFakeNopayloaddb({ state: cdbState })
  const conf = server.writeConfig(join(root, 'npc.json'), { write_dir: join(root, 'store') })
  const run = String(year.processRuns[0]!.runnumber)
  const commands: [string, (dir: YearDir) => string[]][] = [
    ['submit --do-condor-submit (quiet night)', (d) => stageArgs('submit', '--output', d.output, '--do-condor-submit', '--quiet')],
    ['report', (d) => stageArgs('report', '--output', d.output, '--quiet')],
    ['status', (d) => stageArgs('status', '--output', d.output)],
    ['status --since 1d', (d) => stageArgs('status', '--output', d.output, '--since', '1d')],
    [`why --run ${run}`, (d) => stageArgs('why', '--output', d.output, '--run', run)],
    ['upload (the plan)', (d) => stageArgs('upload', '--output', d.output)],
  ]
  const env = (d: YearDir) => ({
    PATH: `${join(ROOT, 'test', 'fakes')}:${process.env.PATH}`, FAKE_CONDOR_STATE: d.condorState,
    NOPAYLOADCLIENT_CONF: conf,
  })
  const repeat = Number(args.repeat)
  const rows: string[] = []
  try {
    for (const [name, command] of commands) {
      const figures: Sample[][] = []
      for (const dir of [fresh, year]) {
        const samples: Sample[] = []
        for (let i = 0; i <= repeat; i++) {
          const sample = await measure([process.execPath, ...command(dir)], env(dir))
          if (sample.code !== 0) throw new Error(`${name} on ${dir.output} exited ${sample.code}: ${sample.stderr}`)
          if (i > 0) samples.push(sample) // the first warms the page cache and writes what a first run writes
        }
        figures.push(samples)
      }
      const [f, y] = figures.map((s) => ({ wall: median(s.map((x) => x.wall)), rss: median(s.map((x) => x.rssMb)) }))
      rows.push(`| ${name} | ${f!.wall.toFixed(2)} | ${y!.wall.toFixed(2)} | ${f!.rss.toFixed(0)} | ${y!.rss.toFixed(0)} |`)
      say(rows.at(-1)!)
    }
  } finally {
    await server.close()
  }
  process.stdout.write(
    `load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n\n` +
      '| what grows | size after the year | |\n| --- | ---: | ---: |\n' + `${sizes(year.output).join('\n')}\n\n` +
      `| command (${year.processRuns.length} runs to process) | fresh wall s | year-old wall s | fresh peak RSS MB | year-old peak RSS MB |\n` +
      `| --- | ---: | ---: | ---: | ---: |\n${rows.join('\n')}\n`,
  )
} finally {
  if (args.keep) say(`kept ${root}`)
  else rmSync(root, { recursive: true, force: true })
}
