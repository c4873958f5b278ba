#!/usr/bin/env -S npx tsx
// query: FileCatalog -> <output>/query.csv, every histogram file of each qualifying (run, tag) under --rules.
import { catalogTarget } from '../lib/catalog/connection.js'
import { NO_PROGRESS, progressCounter } from '../lib/progress.js'
import { runQuery } from '../lib/query.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'query',
    summary:
      'Asks the FileCatalog for the histogram files of each run and tag of the run type that the rule set selects\n' +
      '(--rules seed: HIST_CALOQA files with a DST_CALOFITTING twin, more than --min-events events; --rules current:\n' +
      'HIST_CALOQA and HIST_CALOFITTINGQA files of the tag with the newest QA file), and writes them to\n' +
      '<output>/query.csv (rewritten only when the result changed). When the catalog\'s fingerprint of what the\n' +
      'selection reads is the last query\'s (<output>/query.fingerprint), query.csv is kept without asking for it.\n' +
      'The connection comes from --db-url, else PGHOST, PGPORT, PGUSER, PGPASSWORD (or ~/.pgpass), PGDATABASE\n' +
      '(default FileCatalog) and PGSSLMODE.',
    flags: ['run-type', 'rules', 'min-events', 'output', 'db-url', 'full-query', 'statement-timeout', 'db-tries', 'verbose', 'quiet', 'help'],
    lock: true,
    makesOutput: true,
  },
  async ({ options, log, env, progress }) => {
    const onRows = progress === NO_PROGRESS ? undefined : progressCounter(progress, 'query', 'rows received')
    const result = await runQuery(catalogTarget(options.dbUrl, env), { ...options, retry: { attempts: options.dbTries }, onRows }, log)
    const skipped = result.skipped ? `, ${plural(result.skipped, 'unusable row')} skipped (see log)` : ''
    const { excluded, aggregated, untagged } = result.traps
    const trapRows = excluded + aggregated + untagged
    const traps = trapRows ? `, ${plural(trapRows, 'skimmed, segment-9999 or untagged row')} left out (see log)` : ''
    const changed = result.changed ? 'updated' : result.unchangedCatalog ? 'unchanged (catalog unchanged, not asked again)' : 'unchanged'
    return `query: ${plural(result.files, 'file')} of ${plural(result.runs, 'run')}${skipped}${traps}; ${result.path} ${changed}`
  },
)
