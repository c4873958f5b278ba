#!/usr/bin/env -S npx tsx
// demo [DIR]: the whole pipeline on a generated catalog in an embedded PostgreSQL, driven by the Taskfile through
// the built-in runner, with the fake CDB, scheduler and genStatus of test/fakes; no server, no sPHENIX software.
// Two nights: the first submits the runs whose maps are missing or outdated; the scheduler runs them and their
// payloads reach the CDB; the second finds nothing left to do.
import { mkdir, rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import postgres from 'postgres'
import { $ } from 'zx'
import { createCatalogFiles } from '../test/demo/files-on-disk.js'
import { loadCatalog } from '../test/demo/load.js'
import { startEmbeddedPostgres } from '../test/demo/embedded.js'
import { startFakeNopayloaddb } from '../test/fakes/nopayloaddb.mjs'

const root = resolve(process.argv[2] ?? 'demo')
const output = join(root, 'run3auau')
const fakes = resolve('test/fakes')
const say = (text: string) => process.stdout.write(`\ndemo: ${text}\n`)
const shown = (path: string) => relative(process.cwd(), path) || '.'

await rm(root, { recursive: true, force: true })
say('starting an embedded PostgreSQL (PGlite) with a generated FileCatalog ...')
const server = await startEmbeddedPostgres()
try {
  const sql = postgres(server.url, { onnotice: () => {} })
  let loaded
  try {
    loaded = await loadCatalog(sql, { root: join(root, 'files') })
  } finally {
    await sql.end({ timeout: 5 })
  }
  const missing = await createCatalogFiles(loaded.files)
  say(`catalog: ${loaded.datasets} datasets rows, ${loaded.files.length} files rows; ${missing} HIST_CALOQA files left off disk on purpose`)

  // What cron's environment would hold on an sPHENIX machine, pointed at the embedded catalog and the fakes.
  const cdbState = join(root, 'cdb.json')
  const env = {
    ...process.env,
    PATH: `${fakes}:${process.env.PATH}`,
    CALOPROD_DB_URL: server.url,
    CALOPROD_BIN_FILTER_DATASETS: join(fakes, 'CaloCDB-FilterDatasets'),
    CALOPROD_BIN_GENSTATUS: join(fakes, 'CaloCDB-GenStatus'),
    CALOPROD_SPHENIX_SETUP: join(fakes, 'sphenix_setup.sh'),
    FAKE_CDB_STATE: cdbState,
    FAKE_CONDOR_STATE: join(root, 'condor-queue.json'),
  }
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${output}`, `CONDOR_LOG_DIR=${join(root, 'condor-log')}`]
  const sh = $({ env, stdio: 'inherit' })
  const task = (...args: string[]) => {
    process.stdout.write(`$ npm run task -- ${args.join(' ')}\n`)
    return sh`${process.execPath} --import tsx tasks/task.ts ${args} ${vars}`
  }

  say('night 1: the CDB knows 60% of the runs with their current tag, 10% with an outdated one')
  await task('reduce')
  await sh`${join(fakes, 'fake-cdb')} init ${cdbState} ${join(output, 'run3auau.csv')} --current 0.6 --outdated 0.1 --since 66457`
  await task('submit')
  await task('status')

  say('the scheduler runs the jobs; upload puts their payloads into the CDB (a fake nopayloaddb over the same state)')
  await sh`${join(fakes, 'fake-condor')} run all`
  const cdb = await startFakeNopayloaddb({ state: cdbState })
  try {
    await mkdir(join(root, 'store'))
    const conf = cdb.writeConfig(join(root, 'nopayloadclient.json'), { write_dir: join(root, 'store') })
    const upload = ['upload', ...vars, '--', '--do-cdb-upload', '--global-tag', 'newcdbtag']
    process.stdout.write(`$ npm run task -- ${upload.join(' ')}\n`)
    await $({ env: { ...env, NOPAYLOADCLIENT_CONF: conf }, stdio: 'inherit' })`${process.execPath} --import tsx tasks/task.ts ${upload}`
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
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message.split('\n')[0]}\n`)
  process.exitCode = 1
} finally {
  await server.stop()
}
