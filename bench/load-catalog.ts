#!/usr/bin/env -S npx tsx
// Loads a Run 3-sized synthetic FileCatalog into the PostgreSQL server at PGHOST (PGPORT, PGUSER, PGPASSWORD),
// into its own database, which it drops and creates. Not a stage: a tool for the benchmark (bench/run.ts).
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { benchArgs } from './args.js'
import postgres from 'postgres'
import { catalogTarget, connectCatalog, type CatalogTarget } from '../lib/catalog/connection.js'
import { loadScaleDatabase, scaleShape } from '../test/demo/load-scale.js'

const USAGE = `Usage: npx tsx bench/load-catalog.ts [--scale N] [--database NAME] [--root DIR] [--reuse]

Drops and creates the database NAME (default caloprod_bench) on the server the PG* variables name and loads a
generated FileCatalog into it through COPY: at --scale 1 (default) 3,000 run3auau runs, 1 to 3 tags each,
150 segments per run and tag, about 6 million rows in each of datasets and files; N multiplies the runs.
--root DIR prefixes every catalogued path (default ${join(tmpdir(), 'caloprod-bench', 'files')}), so a bench can
create the files a stage needs. --reuse keeps a database that already holds this exact catalog.
`

export const DEFAULT_DATABASE = 'caloprod_bench'
export const DEFAULT_ROOT = join(tmpdir(), 'caloprod-bench', 'files')

/** The server from the environment, on database `database`. */
export function benchTarget(database: string, env: NodeJS.ProcessEnv = process.env): CatalogTarget {
  return { ...catalogTarget(undefined, env), database }
}

/** Loads (or, with reuse, keeps) a bench catalog; progress goes to stderr. */
export async function loadBenchCatalog(options: { scale: number; database: string; root: string; reuse: boolean }): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.database)) throw new Error(`--database "${options.database}": use lower-case letters, digits and _`)
  const admin = connectCatalog(benchTarget('postgres'))
  try {
    const started = Date.now()
    const shape = scaleShape(options.scale, { root: options.root })
    const say = (text: string) => process.stderr.write(`load-catalog ${options.database}: ${text}\n`)
    const { loaded, result } = await loadScaleDatabase(
      admin,
      (database) => postgres({ ...connectOptions(benchTarget(database)), max: 2 }),
      options.database,
      shape,
      { reuse: options.reuse, progress: say },
    )
    if (!loaded) say(`already holds the catalog of scale ${options.scale}; kept`)
    else say(`${result!.runs} runs, ${result!.datasets} datasets rows, ${result!.files} files rows in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  } finally {
    await admin.end({ timeout: 5 })
  }
}

function connectOptions(target: CatalogTarget): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    host: target.host, port: target.port, database: target.database, username: target.user, password: target.password,
    ssl: target.ssl, onnotice: () => {}, connection: { application_name: 'caloprod-bench' },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = benchArgs('load-catalog', USAGE, { string: ['scale', 'database', 'root'], boolean: ['reuse'] })
  const scale = Number(argv.scale ?? 1)
  if (!(scale > 0)) {
    process.stderr.write(`load-catalog: --scale "${argv.scale}" must be a number greater than 0\n`)
    process.exit(2)
  }
  try {
    await loadBenchCatalog({
      scale,
      database: argv.database ?? DEFAULT_DATABASE,
      root: resolve(argv.root ?? DEFAULT_ROOT),
      reuse: Boolean(argv.reuse),
    })
  } catch (err) {
    process.stderr.write(`load-catalog: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
