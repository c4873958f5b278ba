#!/usr/bin/env -S npx tsx
// demo: the whole pipeline on a generated catalog in an embedded PostgreSQL; no server, no sPHENIX software.
import { rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import postgres from 'postgres'
import { $ } from 'zx'
import { createCatalogFiles } from '../lib/demo/files-on-disk.js'
import { loadCatalog } from '../lib/demo/load.js'
import { startEmbeddedPostgres } from '../lib/demo/embedded.js'

const root = resolve(process.argv[2] ?? 'demo')
const output = join(root, 'run3auau')
const say = (text: string) => process.stdout.write(`demo: ${text}\n`)

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

  const stage = (name: string, ...flags: string[]) =>
    $({ stdio: 'inherit' })`${process.execPath} --import tsx ${`tasks/${name}.ts`} --run-type run3auau --output ${output} ${flags}`
  await stage('query', '--db-url', server.url, '--min-events', '500k')
  await stage('reduce')
  say(`outputs are in ${relative(process.cwd(), output) || '.'}/: query.csv, run3auau.csv, reduce.csv; the log in log/`)
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message.split('\n')[0]}\n`)
  process.exitCode = 1
} finally {
  await server.stop()
}
