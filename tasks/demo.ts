#!/usr/bin/env -S npx tsx
// demo [DIR]: the whole pipeline on a generated catalog in an embedded PostgreSQL, driven by the Taskfile through
// go-task (tasks/task.ts, as `npm run task` starts it), with the fake CDB, scheduler and genStatus of test/fakes; no server, no sPHENIX software.
// Two nights: the first submits the runs whose maps are missing or outdated; the scheduler runs them and their
// payloads reach the CDB; the second finds nothing left to do.
// demo shell [DIR] [-- COMMAND...]: afterwards, the same catalog served again and a shell (or COMMAND) with the
// demo's environment, for the morning commands (status, report, plan, why, upload) against the demo's own fakes.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import postgres from 'postgres'
import { $, quote } from 'zx'
import { createCatalogFiles } from '../test/demo/files-on-disk.js'
import { loadCatalog } from '../test/demo/load.js'
import { startEmbeddedPostgres } from '../test/demo/embedded.js'
import { startFakeNopayloaddb } from '../test/fakes/nopayloaddb.mjs'

const USAGE = `Usage: npm run demo -- [DIR]
       npm run demo -- shell [DIR] [-- COMMAND...]

Plays two nights of the whole pipeline in DIR (default ./demo; removed first, so it must be new, empty or a
demo's) on a generated catalog in an embedded PostgreSQL, with the fakes of test/fakes for the CDB, HTCondor and genStatus, through the Taskfile
as cron runs it; its outputs are in DIR/run3auau/. shell, after it: the same catalog and fake nopayloaddb
served again, and a shell (or COMMAND) with the demo's environment, for the morning commands (status,
report, plan, why, upload) against the demo's fakes.
`
/** What the demo writes in its directory (`demoEnv`, the shell's store and configuration): nothing else is removed. */
const DEMO_ENTRIES = new Set(['cdb.json', 'condor-log', 'condor-queue.json', 'files', 'nopayloadclient.json', 'run3auau', 'store'])

const shellMode = process.argv[2] === 'shell'
const args = process.argv.slice(shellMode ? 3 : 2)
const dashes = args.indexOf('--')
const ownArgs = dashes === -1 ? args : args.slice(0, dashes)
// A flag is never a directory: `--help` played the demo in ./--help, after removing whatever was there.
const flag = ownArgs.find((arg) => arg.startsWith('-'))
if (flag === '--help' || flag === '-h') {
  process.stdout.write(USAGE)
  process.exit(0)
}
if (flag !== undefined) {
  process.stderr.write(`demo: unknown flag ${flag}; npm run demo -- --help shows the usage\n`)
  process.exit(2)
}
const root = resolve(ownArgs[0] ?? 'demo')
const command = dashes === -1 ? [] : args.slice(dashes + 1)
const output = join(root, 'run3auau')
const fakes = resolve('test/fakes')
const say = (text: string) => process.stdout.write(`\ndemo: ${text}\n`)
const shown = (path: string) => relative(process.cwd(), path) || '.'

/**
 * What cron's environment would hold on an sPHENIX machine, pointed at the embedded catalog and the fakes; with
 * RUN_TYPE, OUTPUT and CONDOR_LOG_DIR, which both task runners take from the environment as from the command line.
 */
function demoEnv(catalogUrl: string): Record<string, string> {
  return {
    PATH: `${fakes}:${process.env.PATH}`,
    CALOPROD_DB_URL: catalogUrl,
    CALOPROD_BIN_FILTER_DATASETS: join(fakes, 'CaloCDB-FilterDatasets'),
    CALOPROD_BIN_GENSTATUS: join(fakes, 'CaloCDB-GenStatus'),
    CALOPROD_SPHENIX_SETUP: join(fakes, 'sphenix_setup.sh'),
    FAKE_CDB_STATE: join(root, 'cdb.json'),
    FAKE_CONDOR_STATE: join(root, 'condor-queue.json'),
    RUN_TYPE: 'run3auau',
    OUTPUT: output,
    CONDOR_LOG_DIR: join(root, 'condor-log'),
  }
}

/** The environment as one line a shell takes (`export A=… B=…`). */
const exportLine = (env: Record<string, string>) => `export ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ')}`

if (shellMode && !existsSync(join(output, 'run3auau.csv'))) {
  process.stderr.write(`demo shell: ${shown(output)} has no run list: run \`npm run demo${args[0] && args[0] !== '--' ? ` -- ${args[0]}` : ''}\` first\n`)
  process.exit(2)
}
if (!shellMode) {
  // DIR is removed first, so it must be the demo's own: `npm run demo -- ~` would have removed a home directory.
  const notDemo = await notTheDemos(root)
  if (notDemo !== undefined) {
    process.stderr.write(`demo: ${notDemo}; the demo removes its directory first: give a new or empty one\n`)
    process.exit(2)
  }
  await rm(root, { recursive: true, force: true })
}
say('starting an embedded PostgreSQL (PGlite) with a generated FileCatalog ...')
const server = await startEmbeddedPostgres()
try {
  const sql = postgres(server.url, { onnotice: () => {} })
  let loaded
  try {
    // The same seed gives the same catalog, so a shell after the demo sees the catalog the demo saw.
    loaded = await loadCatalog(sql, { root: join(root, 'files') })
  } finally {
    await sql.end({ timeout: 5 })
  }
  const env = demoEnv(server.url)
  if (shellMode) {
    // The night's fake nopayloaddb again, over the same state, so that upload (and why --live) reach the demo's CDB.
    const cdb = await startFakeNopayloaddb({ state: env.FAKE_CDB_STATE })
    try {
      await mkdir(join(root, 'store'), { recursive: true })
      const conf = cdb.writeConfig(join(root, 'nopayloadclient.json'), { write_dir: join(root, 'store') })
      process.exitCode = await demoShell({ ...env, NOPAYLOADCLIENT_CONF: conf })
    } finally {
      await cdb.close()
    }
  } else {
    const missing = await createCatalogFiles(loaded.files)
    say(`catalog: ${loaded.datasets} datasets rows, ${loaded.files.length} files rows; ${missing} HIST_CALOQA files left off disk on purpose`)
    await twoNights(env)
  }
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message.split('\n')[0]}\n`)
  process.exitCode = 1
} finally {
  await server.stop()
}

/** Why `dir` is not the demo's to remove (a file, or an entry no demo makes); undefined if it is, or is not there. */
async function notTheDemos(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    if (err.code === 'ENOTDIR') return undefined
    throw err
  })
  if (entries === undefined) return `${shown(dir)} is a file`
  const stranger = entries.sort().find((name) => !DEMO_ENTRIES.has(name))
  return stranger === undefined ? undefined : `${shown(dir)} holds "${stranger}", which no demo makes`
}

/** A shell (or `command`) with the demo's environment while the catalog is served; its exit code. */
function demoShell(env: Record<string, string>): Promise<number> {
  const argv = command.length ? command : [process.env.SHELL || '/bin/sh', '-i']
  if (!command.length) {
    say(`a shell with the demo's environment (the catalog is served until you leave it with exit):\n${exportLine(env)}`)
    process.stdout.write('try: npm run task -- status    npm run task -- report    npm run task -- plan    npm run task -- upload\n')
  }
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } })
    child.on('error', fail)
    child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)))
  })
}

/** The demo's two nights, each command printed exactly as it runs, under the environment printed first. */
async function twoNights(env: Record<string, string>): Promise<void> {
  const cdbState = env.FAKE_CDB_STATE!
  say(`every command below runs in this environment (\`npm run demo -- shell\` gives you a shell in it afterwards):\n${exportLine(env)}`)
  const sh = $({ env: { ...process.env, ...env }, stdio: 'inherit' })
  const task = (...args: string[]) => {
    process.stdout.write(`$ node --import tsx tasks/task.ts ${args.join(' ')}\n`)
    return sh`${process.execPath} --import tsx tasks/task.ts ${args}`
  }

  say('night 1: the CDB knows 60% of the runs with their current tag, 10% with an outdated one')
  await task('reduce')
  const init = ['init', cdbState, join(output, 'run3auau.csv'), '--current', '0.6', '--outdated', '0.1', '--since', '66457']
  process.stdout.write(`$ ${shown(join(fakes, 'fake-cdb'))} ${init.map((a) => quote(a)).join(' ')}\n`)
  await sh`${join(fakes, 'fake-cdb')} ${init}`
  await task('submit')
  await task('status')

  say('the scheduler runs the jobs; upload puts their payloads into the CDB (a fake nopayloaddb over the same state)')
  process.stdout.write(`$ ${shown(join(fakes, 'fake-condor'))} run all\n`)
  await sh`${join(fakes, 'fake-condor')} run all`
  const cdb = await startFakeNopayloaddb({ state: cdbState })
  try {
    await mkdir(join(root, 'store'))
    const conf = cdb.writeConfig(join(root, 'nopayloadclient.json'), { write_dir: join(root, 'store') })
    const upload = ['upload', '--', '--do-cdb-upload', '--global-tag', 'newcdbtag']
    process.stdout.write(`$ NOPAYLOADCLIENT_CONF=${quote(conf)} node --import tsx tasks/task.ts ${upload.join(' ')}\n`)
    await $({ env: { ...process.env, ...env, NOPAYLOADCLIENT_CONF: conf }, stdio: 'inherit' })`${process.execPath} --import tsx tasks/task.ts ${upload}`
  } finally {
    await cdb.close()
  }
  await task('status')

  say('night 2: the catalog has not changed; the runs just calibrated are current, nothing is submitted')
  await task('--verbose', 'submit', 'report')
  const files = ['query.csv', 'run3auau.csv', 'reduce.csv', 'run3auau-process.csv', 'datasets/', 'condor/', 'submissions/',
    'submissions.csv', 'uploads.csv', 'log/'].join(', ')
  say(`outputs are in ${shown(output)}/ (${files}; the payload store in ${shown(join(root, 'store'))}/)`)
  say(`the report, the run type at a glance: ${join(output, 'report.html')} (open it in a browser)`)
  const again = root === resolve('demo') ? '' : ` ${shown(root)}`
  say(`the morning commands against the demo's fakes: npm run demo -- shell${again}   (or one: npm run demo -- shell${again} -- npm run task -- status)`)
}
