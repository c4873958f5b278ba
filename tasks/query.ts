#!/usr/bin/env -S npx tsx
// query: FileCatalog -> <output>/query.csv, every HIST_CALOQA file of each qualifying (run, tag).
import { catalogTarget } from '../lib/catalog/connection.js'
import { NO_PROGRESS, progressCounter } from '../lib/progress.js'
import { runQuery } from '../lib/query.js'
import { main } from './main.js'

await main(
  {
    name: 'query',
    summary:
      'Asks the FileCatalog for every HIST_CALOQA file of each run and tag of the run type with more than\n' +
      '--min-events events, and writes them to <output>/query.csv (rewritten only when the result changed).\n' +
      'The connection comes from --db-url, else PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (default FileCatalog).',
    flags: ['run-type', 'min-events', 'output', 'db-url', 'statement-timeout', 'db-retries', 'verbose', 'quiet', 'help'],
    lock: true,
  },
  async ({ options, log, env, progress }) => {
    const onRows = progress === NO_PROGRESS ? undefined : progressCounter(progress, 'query', 'rows received')
    const result = await runQuery(catalogTarget(options.dbUrl, env), { ...options, retry: { attempts: options.dbRetries }, onRows }, log)
    const skipped = result.skipped ? `, ${result.skipped} unusable rows skipped (see log)` : ''
    return `query: ${result.files} files of ${result.runs} runs${skipped}; ${result.path} ${result.changed ? 'updated' : 'unchanged'}`
  },
)
