#!/usr/bin/env -S npx tsx
// `npm run bench`: loads a Run 3-sized catalog into the PostgreSQL server at PGHOST once (bench/load-catalog.ts),
// then runs each stage as a user runs it (`node tasks/start.cjs tasks/<stage>.ts ...`, a whole process) several
// times, and prints the median wall time and peak RSS of each, next to the floor: the same SELECT copied out
// by psql's \copy, which is what the database alone costs. Not part of the tests.
//
//   npm run bench -- [--scale N] [--runs N] [--query-scales 2,4] [--only query,reduce] [--reload] [--drop] [--esm-loader]
//
// Each stage is one entry of STAGES; an entry whose script (or fake) does not exist yet is listed as skipped.
// Stages after reduce run against the fakes in test/fakes (the CDB and HTCondor), as the tests do. A loaded
// catalog is reused by the next bench (its database's comment names its shape). The targets of issue 6 close
// the report, one line each, PASS or FAIL.
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSelection } from '../lib/catalog/selection.js'
import { BUILTIN_RULES } from '../lib/rules/load.js'
import { saveState } from '../test/fakes/cdb-lib.mjs'
import { connectCatalog } from '../lib/catalog/connection.js'
import { layout } from '../lib/files/layout.js'
import { DEFAULT_DATABASE, DEFAULT_ROOT, benchTarget, loadBenchCatalog } from './load-catalog.js'
import { benchArgs, benchOnly } from './args.js'
import { measure, median, type Sample } from './measure.js'
import { stageArgs } from '../test/helpers/run-script.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FAKES = join(ROOT, 'test', 'fakes')
const RUN_TYPE = 'run3auau'
const MIN_EVENTS = '500000'

const argv = benchArgs('run', `Usage: npm run bench -- [flags]
  --scale N          size of the main catalog, times the default 3,000 runs (default 1)
  --runs N           measured runs of each stage; the table shows medians (default 5)
  --query-scales L   also measure the floor and query on catalogs of these scales, e.g. 2,4 (default none)
  --only L           measure only these stages, e.g. floor,query,reduce (floor, query, floor current, query current,
                     reduce, check, lists, condor, submit, report, task submit, check settled); a stage reads
                     what those before it wrote in a fresh directory, so name them too (query,reduce,lists)
  --database NAME    the main catalog's database (default ${DEFAULT_DATABASE}; --query-scales add _x<N>); one that
                     holds another --scale is dropped and loaded again at this one
  --work DIR         outputs and generated files (default ${join(tmpdir(), 'caloprod-bench')})
  --reload           load the catalogs again even when their databases already hold them
  --drop             drop the databases of --query-scales afterwards (default: keep them for the next bench)
  --keep             keep the outputs of --query-scales in the work directory
  --esm-loader       start the stages with node --import tsx (tsx's ES-module hooks, on a loader thread of their
                     own) instead of tasks/start.cjs, the Taskfile's way: to compare the two
`, {
  string: ['scale', 'runs', 'query-scales', 'only', 'database', 'work'],
  boolean: ['reload', 'drop', 'keep', 'esm-loader'],
})
const scale = Number(argv.scale ?? 1)
const runs = Number(argv.runs ?? 5)
const queryScales = argv['query-scales'] ? String(argv['query-scales']).split(',').map(Number) : []
const database: string = argv.database ?? DEFAULT_DATABASE
const work: string = argv.work ?? join(tmpdir(), 'caloprod-bench')
if (!(scale > 0) || !(runs >= 1) || queryScales.some((s) => !(s > 0))) {
  process.stderr.write('bench: --scale, --runs and --query-scales take numbers greater than 0\n')
  process.exit(2)
}

/** What a stage needs to run and to be judged. */
interface Context {
  database: string
  /** The stage scripts' output directory. */
  output: string
  /** Where the bench keeps the fake CDB and HTCondor state. */
  state: string
  env: NodeJS.ProcessEnv
  /** Median wall seconds of the stages measured so far, by name. */
  medians: Map<string, number>
  /** Counts a stage's remark found (CDB lookups), by stage name. */
  counts: Map<string, number>
  /** Wall seconds of the query run just before each `task submit` run (the first is the warm-up's). */
  pairedQuery: number[]
}

interface Stage {
  name: string
  /** Files that must exist for the stage to be measured (its script, the fakes it uses). */
  requires: string[]
  /** Once, before the warm-up run: the state the stage needs (not timed). */
  setup?: (ctx: Context) => Promise<void>
  /** Before every run (not timed). */
  beforeEach?: (ctx: Context) => Promise<void>
  command: (ctx: Context) => { argv: string[]; env?: NodeJS.ProcessEnv }
  /** After the measured runs: a remark for the table (e.g. how many CDB lookups a run made). */
  remark?: (ctx: Context) => Promise<string>
  /** Poll every process the command starts for its own peak resident set (a Taskfile run starts many). */
  tree?: boolean
  /** The target, and whether the medians meet it; undefined when what it compares with was not measured (--only). */
  target?: (median: { wall: number; rssMb: number }, ctx: Context) => { text: string; ok: boolean } | undefined
}

/** A stage as the Taskfile (and so cron) starts it: `node tasks/start.cjs tasks/<stage>.ts`. */
const stageCommand = (name: string, ...args: string[]) => argv['esm-loader']
  ? [process.execPath, '--import', 'tsx', join(ROOT, 'tasks', `${name}.ts`), ...args]
  : [process.execPath, ...stageArgs(name, ...args)]
const script = (name: string) => join(ROOT, 'tasks', `${name}.ts`)
/** A command line as short as a table cell allows: a stage by its script's name, anything else by its first words. */
const shortCommand = (command: string) => /tasks\/(\w+)\.ts/.exec(command)?.[0] ?? command.split(' ').slice(0, 3).join(' ')
const cdbState = (ctx: Context) => join(ctx.state, 'cdb-state.json')
const cdbLookups = (ctx: Context) => join(ctx.state, 'cdb-lookups.txt')
const condorState = (ctx: Context) => join(ctx.state, 'condor-state.json')
const condorLogDir = (ctx: Context) => join(ctx.state, 'condor-log')
/** The catalog as the cron environment names it: a URL (no password: the PG* variables or .pgpass give it). */
const catalogUrl = (ctx: Context) => {
  const target = benchTarget(ctx.database)
  const host = target.host.startsWith('/') ? `localhost/${ctx.database}?host=${encodeURIComponent(target.host)}` : `${target.host}:${target.port}/${ctx.database}`
  return `postgres://${encodeURIComponent(target.user)}@${host}`
}
/** The fakes first on PATH, and the variables that stand in for the flags the Taskfile does not pass. */
const fakeEnv = (ctx: Context): NodeJS.ProcessEnv => ({
  PATH: `${FAKES}:${process.env.PATH}`,
  FAKE_CDB_STATE: cdbState(ctx),
  FAKE_CDB_LOOKUPS: cdbLookups(ctx),
  FAKE_CONDOR_STATE: condorState(ctx),
  CALOPROD_SPHENIX_SETUP: join(FAKES, 'sphenix_setup.sh'),
  CALOPROD_BIN_FILTER_DATASETS: join(FAKES, 'CaloCDB-FilterDatasets'),
  CALOPROD_BIN_GENSTATUS: join(FAKES, 'CaloCDB-GenStatus'),
  CALOPROD_CONDOR_LOG_DIR: condorLogDir(ctx),
})
const withinThirdOfQuery = (median: { wall: number }, ctx: Context) => {
  const query = ctx.medians.get('query')
  if (query === undefined) return undefined
  return { text: `< query / 3 = ${(query / 3).toFixed(2)} s (${(median.wall / query).toFixed(2)}× query)`, ok: median.wall < query / 3 }
}
/** CDB lookups the fake filter-datasets made in the last measured run. */
const lookupCount = async (ctx: Context) => (await lines(cdbLookups(ctx))).length

/** The floor: the query stage's own SELECT under `rules`, copied out by psql, with the session settings the stage uses. */
function floorCommand(ctx: Context, rules = 'seed'): { argv: string[]; env: NodeJS.ProcessEnv } {
  const minEvents = rules === 'seed' ? Number(MIN_EVENTS) : undefined
  const select = buildSelection(BUILTIN_RULES[rules], RUN_TYPE, minEvents).select.replace(/\s+/g, ' ').trim()
  const file = join(ctx.output, rules === 'seed' ? 'floor.csv' : `floor-${rules}.csv`)
  return {
    argv: ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${select}) to '${file}' with (format csv, header)`],
    env: { PGDATABASE: ctx.database, PGOPTIONS: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c jit=off' },
  }
}

const STAGES: Stage[] = [
  {
    name: 'floor',
    requires: [],
    command: floorCommand,
    remark: async (ctx) => `psql \\copy, ${await rowsOf(join(ctx.output, 'floor.csv'))} rows`,
  },
  {
    name: 'query',
    requires: [script('query')],
    command: (ctx) => ({
      // --full-query: every run asks for the whole selection (the runs after the first would keep query.csv).
      argv: stageCommand('query', '--run-type', RUN_TYPE, '--min-events', MIN_EVENTS, '--output', ctx.output, '--quiet', '--full-query'),
      env: { PGDATABASE: ctx.database },
    }),
    remark: async (ctx) => `${await rowsOf(layout.queryCsv(ctx.output))} rows, ${await megabytes(layout.queryCsv(ctx.output))} MB`,
    target: (median, ctx) => {
      const floor = ctx.medians.get('floor')
      if (floor === undefined) return undefined
      const ratio = median.wall / floor
      return { text: `≤ 1.5 × floor (${ratio.toFixed(2)}× floor)`, ok: ratio <= 1.5 }
    },
  },
  {
    // Today's rules (no threshold, the fitting-QA files too, the winning tag in SQL), into an output of their own.
    name: 'floor current',
    requires: [],
    command: (ctx) => floorCommand(ctx, 'current'),
    remark: async (ctx) => `psql \\copy, ${await rowsOf(join(ctx.output, 'floor-current.csv'))} rows`,
  },
  {
    name: 'query current',
    requires: [script('query')],
    command: (ctx) => ({
      argv: stageCommand('query', '--rules', 'current', '--run-type', RUN_TYPE, '--output', join(ctx.output, 'current'), '--quiet', '--full-query'),
      env: { PGDATABASE: ctx.database },
    }),
    remark: async (ctx) => `${await rowsOf(layout.queryCsv(join(ctx.output, 'current')))} rows, ${await megabytes(layout.queryCsv(join(ctx.output, 'current')))} MB`,
    target: (median, ctx) => {
      const floor = ctx.medians.get('floor current')
      if (floor === undefined) return undefined
      const ratio = median.wall / floor
      return { text: `≤ 1.5 × floor current (${ratio.toFixed(2)}× floor)`, ok: ratio <= 1.5 }
    },
  },
  {
    name: 'reduce',
    requires: [script('reduce')],
    command: (ctx) => ({ argv: stageCommand('reduce', '--run-type', RUN_TYPE, '--output', ctx.output, '--quiet') }),
    remark: async (ctx) => `${await rowsOf(layout.reduceCsv(ctx.output))} rows kept`,
    target: withinThirdOfQuery,
  },
  {
    // The nightly re-run with the CDB unchanged while the jobs of last night are still in flight: the warm-up run
    // asks about every run and settles the current ones; the measured runs ask again about the others only (a
    // missing or outdated map may have arrived meanwhile; check cannot know without asking).
    name: 'check',
    requires: [script('check'), join(FAKES, 'CaloCDB-FilterDatasets'), join(FAKES, 'fake-cdb')],
    setup: async (ctx) => {
      // 90% of the runs current, 2% outdated, the rest missing: about 330 runs to process at scale 1.
      await run([join(FAKES, 'fake-cdb'), 'init', cdbState(ctx), layout.runListCsv(ctx.output, RUN_TYPE), '--current', '0.9', '--outdated', '0.02'], fakeEnv(ctx))
    },
    beforeEach: async (ctx) => writeFile(cdbLookups(ctx), ''),
    command: (ctx) => ({ argv: stageCommand('check', '--run-type', RUN_TYPE, '--output', ctx.output, '--quiet'), env: fakeEnv(ctx) }),
    remark: async (ctx) => {
      ctx.counts.set('check', await lookupCount(ctx))
      return `CDB 90% current: ${ctx.counts.get('check')} CDB lookups a run (the unsettled runs only); ${await rowsOf(layout.processCsv(ctx.output, RUN_TYPE))} runs to process`
    },
  },
  {
    // lists needs the HIST_CALOQA files on disk: the bench creates (small, not empty) files for the runs of the
    // process list only, leaving every 40th out so the missing-file path is measured too.
    name: 'lists',
    requires: [script('lists')],
    setup: async (ctx) => materializeProcessFiles(ctx),
    // The thread pool as the Taskfile's lists task sizes it (the default 64 stats in flight): without it the stage
    // starts itself again with the pool it needs, a second node start the nightly run does not pay.
    command: (ctx) => ({ argv: stageCommand('lists', '--run-type', RUN_TYPE, '--min-events', MIN_EVENTS, '--output', ctx.output, '--quiet'), env: { UV_THREADPOOL_SIZE: '64' } }),
    remark: async (ctx) => `${await rowsOf(layout.missingCsv(ctx.output, RUN_TYPE))} missing files listed`,
    target: withinThirdOfQuery,
  },
  {
    name: 'condor',
    requires: [script('condor')],
    command: (ctx) => ({ argv: stageCommand('condor', '--run-type', RUN_TYPE, '--output', ctx.output, '--quiet'), env: fakeEnv(ctx) }),
  },
  {
    // The warm-up run submits every run of the process list to the fake HTCondor; the measured runs find
    // them all in flight and submit nothing (the nightly case).
    name: 'submit',
    requires: [script('submit'), join(FAKES, 'condor_submit'), join(FAKES, 'condor_q')],
    command: (ctx) => ({
      argv: stageCommand('submit', '--run-type', RUN_TYPE, '--output', ctx.output, '--do-condor-submit', '--quiet'),
      env: fakeEnv(ctx),
    }),
  },
  {
    // The page, every night's last step: reads reduce.csv, the ledger and the scheduler's answer.
    name: 'report',
    requires: [script('report'), join(FAKES, 'condor_q')],
    command: (ctx) => ({ argv: stageCommand('report', '--run-type', RUN_TYPE, '--output', ctx.output, '--quiet'), env: fakeEnv(ctx) }),
    remark: async (ctx) => `${await megabytes(layout.reportHtml(ctx.output))} MB page`,
  },
  {
    // The cron job on an unchanged catalog and CDB, through go-task and the Taskfile, as cron runs it:
    // the warm-up run records the stages' sources; the measured runs are quiet nights (query, check, lists and
    // condor run and rewrite nothing, lists from its cache of reduce.csv; reduce is skipped; submit finds every
    // job in flight).
    name: 'task submit',
    tree: true,
    requires: [join(ROOT, 'Taskfile.yml'), script('check'), script('lists'), script('condor'), script('submit')],
    // The steady state the target speaks of: the CDB has caught up with the catalog (every map current), so a
    // quiet night has nothing to submit. Runs still missing would be asked again every night (issue 3's rule),
    // at the CDB's cost per lookup, which no tool can avoid.
    setup: async (ctx) => saveState(cdbState(ctx), { default: 'current', runs: {} }),
    // Each run is paired with a query run just before it, so a drift of the machine's speed over the bench (the
    // database's caches, other load) does not count as the pipeline's cost.
    beforeEach: async (ctx) => {
      await writeFile(cdbLookups(ctx), '')
      const query = await measure(stageCommand('query', '--run-type', RUN_TYPE, '--min-events', MIN_EVENTS, '--output', ctx.output, '--quiet'),
        { ...ctx.env, CALOPROD_DB_URL: catalogUrl(ctx) })
      if (query.code !== 0) throw new Error(`query exited ${query.code}: ${query.stderr}`)
      ctx.pairedQuery.push(query.wall)
    },
    command: (ctx) => ({
      argv: ['task', '-x', 'submit', `RUN_TYPE=${RUN_TYPE}`, `OUTPUT=${ctx.output}`,
        `MIN_EVENTS=${MIN_EVENTS}`, `CONDOR_LOG_DIR=${condorLogDir(ctx)}`, ...(argv['esm-loader'] ? ['STAGE=node --import tsx'] : [])],
      env: { ...fakeEnv(ctx), CALOPROD_DB_URL: catalogUrl(ctx), TASK_TEMP_DIR: join(ctx.state, '.task') },
    }),
    remark: async (ctx) => `unchanged catalog, CDB current; ${await lookupCount(ctx)} CDB lookups a night`,
    target: (med, ctx) => {
      const query = pairedQueryMedian(ctx)
      if (query === undefined) return { text: '≤ query + 5 s (query not measured)', ok: false }
      return { text: `≤ query + 5 s, query run before each: ${query.toFixed(2)} s (query + ${(med.wall - query).toFixed(2)} s)`, ok: med.wall <= query + 5 }
    },
  },
  {
    // The nightly re-run once every map is current (the jobs ran, their payloads reached the CDB): the warm-up
    // run asks about the runs not yet settled; the measured runs find every run settled and ask nothing.
    name: 'check settled',
    requires: [script('check'), join(FAKES, 'CaloCDB-FilterDatasets')],
    setup: async (ctx) => saveState(cdbState(ctx), { default: 'current', runs: {} }),
    beforeEach: async (ctx) => writeFile(cdbLookups(ctx), ''),
    command: (ctx) => ({ argv: stageCommand('check', '--run-type', RUN_TYPE, '--output', ctx.output, '--quiet'), env: fakeEnv(ctx) }),
    remark: async (ctx) => {
      ctx.counts.set('check settled', await lookupCount(ctx))
      return `CDB all current: ${ctx.counts.get('check settled')} CDB lookups in the last run`
    },
    target: (_median, ctx) => {
      const lookups = ctx.counts.get('check settled') ?? -1
      return { text: 're-run with the CDB unchanged: 0 lookups', ok: lookups === 0 }
    },
  },
]
const only = benchOnly('run', argv.only, STAGES.map((stage) => stage.name))

/** Runs a command to completion (not measured); throws with its stderr when it fails. */
async function run(command: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const sample = await measure(command, env)
  if (sample.code !== 0) throw new Error(`${command.join(' ')} exited ${sample.code}: ${sample.stderr}`)
}

/** The median of the query runs paired with the measured `task submit` runs (the warm-up's left out). */
const pairedQueryMedian = (ctx: Context) => (ctx.pairedQuery.length > 1 ? median(ctx.pairedQuery.slice(1)) : undefined)

async function lines(path: string): Promise<string[]> {
  return existsSync(path) ? (await readFile(path, 'utf8')).split('\n').filter(Boolean) : []
}

/** Rows of a CSV (lines after the header), counted without holding the file. */
async function rowsOf(path: string): Promise<number | string> {
  if (!existsSync(path)) return 'no'
  let count = 0
  const { createReadStream } = await import('node:fs')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    for (let i = (chunk as Buffer).indexOf(10); i !== -1; i = (chunk as Buffer).indexOf(10, i + 1)) count++
  }
  return count - 1
}

async function megabytes(path: string): Promise<string> {
  return existsSync(path) ? ((await stat(path)).size / 1e6).toFixed(0) : '?'
}

/** Creates the HIST_CALOQA files of the runs to process (from reduce.csv), all but every 40th. */
async function materializeProcessFiles(ctx: Context): Promise<void> {
  const processRuns = new Set((await lines(layout.processCsv(ctx.output, RUN_TYPE))).slice(1).map((line) => line.split(',')[0]))
  const dirs = new Set<string>()
  let index = 0
  let created = 0
  const { createReadStream } = await import('node:fs')
  const { createInterface } = await import('node:readline')
  for await (const line of createInterface({ input: createReadStream(layout.reduceCsv(ctx.output)) })) {
    const fields = line.split(',')
    if (!processRuns.has(fields[0]) || fields[4] === undefined || !fields[4].startsWith('/')) continue
    if (++index % 40 === 0) continue
    const dir = dirname(fields[4])
    if (!dirs.has(dir)) await mkdir(dir, { recursive: true }), dirs.add(dir)
    await writeFile(fields[4], 'bench histogram file\n')
    created++
  }
  process.stderr.write(`bench: created ${created} HIST_CALOQA files of ${processRuns.size} runs to process\n`)
}

interface Row {
  stage: string
  samples?: Sample[]
  remark: string
  target?: { text: string; ok: boolean }
}

/** Measures the stages in order on one catalog; returns a row per stage. */
async function measureStages(ctx: Context, stages: Stage[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const stage of stages) {
    if (only && !only.has(stage.name)) continue
    const missing = stage.requires.filter((file) => !existsSync(file))
    if (missing.length) {
      rows.push({ stage: stage.name, remark: `skipped: ${missing.map((f) => f.replace(ROOT, '')).join(', ')} not there yet` })
      continue
    }
    process.stderr.write(`bench: ${stage.name} ...\n`)
    try {
      await stage.setup?.(ctx)
      const samples: Sample[] = []
      // The first run warms the caches (and, for check and submit, makes the state a nightly re-run meets).
      for (let i = 0; i <= runs; i++) {
        await stage.beforeEach?.(ctx)
        const { argv, env } = stage.command(ctx)
        const sample = await measure(argv, { ...ctx.env, ...env }, { tree: stage.tree })
        if (sample.code !== 0) throw new Error(`exit ${sample.code}: ${sample.stderr.split('\n').slice(-3).join(' | ')}`)
        if (i > 0) samples.push(sample)
      }
      const med = { wall: median(samples.map((s) => s.wall)), rssMb: median(samples.map((s) => s.rssMb)) }
      ctx.medians.set(stage.name, med.wall)
      const largest = samples.map((s) => s.largest).filter((p) => p !== undefined).sort((a, b) => b.rssMb - a.rssMb)[0]
      const remark = [await stage.remark?.(ctx), largest && `largest process ${largest.rssMb.toFixed(0)} MB: ${shortCommand(largest.command)}`]
      rows.push({ stage: stage.name, samples, remark: remark.filter(Boolean).join('; '), target: stage.target?.(med, ctx) })
    } catch (err) {
      rows.push({ stage: stage.name, remark: `failed: ${(err as Error).message.slice(0, 300)}` })
    }
  }
  return rows
}

const passFail = (ok: boolean) => (ok ? 'PASS' : 'FAIL')

function table(rows: Row[]): string {
  const out = [
    '| stage | wall s (median) | wall s (min–max) | peak RSS MB (median) | target | | notes |',
    '| --- | ---: | ---: | ---: | --- | --- | --- |',
  ]
  for (const row of rows) {
    if (!row.samples) {
      out.push(`| ${row.stage} | | | | | | ${row.remark} |`)
      continue
    }
    const walls = row.samples.map((s) => s.wall)
    const rss = row.samples.map((s) => s.rssMb)
    out.push(
      `| ${row.stage} | ${median(walls).toFixed(2)} | ${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)} | ` +
        `${median(rss).toFixed(0)} | ${row.target?.text ?? ''} | ${row.target ? passFail(row.target.ok) : ''} | ${row.remark} |`,
    )
  }
  return out.join('\n')
}

async function machine(): Promise<string> {
  const os = await import('node:os')
  const admin = connectCatalog(benchTarget('postgres'))
  try {
    const [{ version }] = await admin`select split_part(version(), ' ', 2) as version`
    const [{ work_mem: workMem }] = await admin`select current_setting('work_mem') as work_mem`
    const [{ shared_buffers: shared }] = await admin`select current_setting('shared_buffers') as shared_buffers`
    return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, ` +
      `Node ${process.version}, PostgreSQL ${version} (work_mem ${workMem}, shared_buffers ${shared}), load average ` +
      `${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString().slice(0, 16)}Z`
  } finally {
    await admin.end({ timeout: 5 })
  }
}

async function main(): Promise<void> {
  await mkdir(work, { recursive: true })
  const context = (db: string, name: string): Context => ({
    database: db,
    output: join(work, name),
    state: join(work, `${name}-state`),
    env: {},
    medians: new Map(),
    pairedQuery: [],
    counts: new Map(),
  })

  await loadBenchCatalog({ scale, database, root: DEFAULT_ROOT, reuse: !argv.reload })
  const main = context(database, `out-x${scale}`)
  for (const dir of [main.output, main.state]) await rm(dir, { recursive: true, force: true }), await mkdir(dir, { recursive: true })
  const rows = await measureStages(main, STAGES)
  const started = argv['esm-loader'] ? 'node --import tsx tasks/<stage>.ts (--esm-loader)' : 'node tasks/start.cjs tasks/<stage>.ts, as the Taskfile starts them'
  const report = [
    `caloprod bench, catalog scale ${scale} (${database}), stages started as ${started}; median of ${runs} measured runs ` +
      'per stage after one warm-up; wall time and peak RSS of the whole process (GNU time)',
    '',
    table(rows),
  ]

  // Query at other catalog sizes: the floor, the query and its peak RSS, which must not grow with the catalog.
  const scaleRows: string[] = ['| catalog | floor s | query s | query / floor | query peak RSS MB (max) |', '| --- | ---: | ---: | ---: | ---: |']
  const peaks: { name: string; rssMb: number | undefined }[] = []
  const scaleOf = (name: string, rowsAt: Row[]) => {
    const [floor, query] = ['floor', 'query'].map((s) => rowsAt.find((r) => r.stage === s)?.samples)
    peaks.push({ name, rssMb: query ? Math.max(...query.map((s) => s.rssMb)) : undefined })
    if (!floor || !query) return `| ${name} | | | | failed |`
    const [f, q] = [median(floor.map((s) => s.wall)), median(query.map((s) => s.wall))]
    return `| ${name} | ${f.toFixed(2)} | ${q.toFixed(2)} | ${(q / f).toFixed(2)} | ${Math.max(...query.map((s) => s.rssMb)).toFixed(0)} |`
  }
  scaleRows.push(scaleOf(`${scale}×`, rows))
  for (const s of queryScales) {
    const db = `${database}_x${String(s).replace('.', '_')}`
    await loadBenchCatalog({ scale: s, database: db, root: DEFAULT_ROOT, reuse: !argv.reload })
    const ctx = context(db, `out-x${s}`)
    await rm(ctx.output, { recursive: true, force: true })
    await mkdir(ctx.output, { recursive: true })
    scaleRows.push(scaleOf(`${s}×`, await measureStages(ctx, STAGES.filter((stage) => stage.name === 'floor' || stage.name === 'query'))))
    if (!argv.keep) await rm(ctx.output, { recursive: true, force: true })
    if (argv.drop) {
      const admin = connectCatalog(benchTarget('postgres'))
      await admin`drop database if exists ${admin(db)} with (force)`
      await admin.end({ timeout: 5 })
    }
  }
  if (queryScales.length) report.push('', 'query across catalog sizes:', '', scaleRows.join('\n'))

  // The targets of issue 6, one line each.
  const targets: string[] = []
  const targetLine = (ok: boolean | undefined, text: string) =>
    targets.push(`${ok === undefined ? 'SKIP' : passFail(ok)}  ${text}`)
  const row = (name: string) => rows.find((r) => r.stage === name)
  const measured = (name: string) => (row(name)?.samples ? median(row(name)!.samples!.map((s) => s.wall)) : undefined)
  const [floor, query] = [measured('floor'), measured('query')]
  const seconds = (value: number | undefined) => (value === undefined ? 'not measured' : `${value.toFixed(2)} s`)
  targetLine(floor && query ? query <= 1.5 * floor : undefined,
    `query ≤ 1.5 × floor: ${seconds(query)} / ${seconds(floor)} = ${floor && query ? (query / floor).toFixed(2) : '?'}×`)
  const rssKnown = peaks.filter((p) => p.rssMb !== undefined) as { name: string; rssMb: number }[]
  targetLine(rssKnown.length ? rssKnown.every((p) => p.rssMb < 150) && rssKnown.length === peaks.length : undefined,
    `query peak RSS < 150 MB at every size: ${peaks.map((p) => `${p.name} ${p.rssMb === undefined ? '?' : p.rssMb.toFixed(0)} MB`).join(', ')}` +
      (queryScales.length ? '' : ' (add --query-scales 2,4 for the larger catalogs)'))
  for (const name of ['reduce', 'lists']) {
    const wall = measured(name)
    targetLine(wall !== undefined && query ? wall < query / 3 : undefined,
      `${name} < query / 3: ${seconds(wall)} vs ${query ? (query / 3).toFixed(2) : '?'} s (${wall !== undefined && query ? (wall / query).toFixed(2) : '?'}× query)`)
  }
  const settled = main.counts.get('check settled')
  targetLine(settled === undefined ? undefined : settled === 0,
    `check, nightly re-run with the CDB unchanged and every run settled: ${settled ?? '?'} CDB lookups (target 0)`)
  const submit = measured('task submit')
  const paired = pairedQueryMedian(main)
  targetLine(submit !== undefined && paired !== undefined ? submit <= paired + 5 : undefined,
    `task submit on an unchanged catalog ≤ query + 5 s: ${seconds(submit)} vs ${paired !== undefined ? (paired + 5).toFixed(2) : '?'} s (query run just before each: ${seconds(paired)})`)
  // Issue 26: every process under 150 MB, the stages one by one and each process `task submit` starts.
  const processes = rows.flatMap((r) => (r.samples ?? []).flatMap((s) => [
    { name: r.stage, rssMb: s.rssMb }, ...(s.largest ? [{ name: shortCommand(s.largest.command), rssMb: s.largest.rssMb }] : []),
  ])).filter((p) => p.name !== 'floor' && p.name !== 'floor current')
  const over = [...new Set(processes.filter((p) => p.rssMb >= 150).map((p) => p.name))]
  const top = processes.sort((a, b) => b.rssMb - a.rssMb)[0]
  targetLine(top ? over.length === 0 : undefined,
    `peak RSS of every process < 150 MB (issue 26): largest ${top ? `${top.rssMb.toFixed(0)} MB (${top.name})` : '?'}${over.length ? `; at or over 150 MB: ${over.join(', ')}` : ''}`)
  report.push('', 'targets (issues 6 and 26):', '', ...targets)
  report.push('', `machine: ${await machine()}`)
  process.stdout.write(`${report.join('\n')}\n`)
}

try {
  await main()
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exitCode = 1
}
