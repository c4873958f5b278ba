#!/usr/bin/env -S npx tsx
// The query stage's SELECT against caloprod 0.1's (the seed's selection as first ported: two scans of datasets
// and a semi-join), on a bench catalog: both plans with EXPLAIN (ANALYZE, BUFFERS), and a proof that both
// return the same rows (EXCEPT ALL both ways, so counts of duplicates count too). Not part of the tests.
//
//   npx tsx bench/plans.ts [--database caloprod_bench] [--out /tmp/bench-plans.txt]
import { writeFile } from 'node:fs/promises'
import mri from 'mri'
import type postgres from 'postgres'
import { connectCatalog } from '../lib/catalog/connection.js'
import { selectionSql } from '../lib/catalog/query-files.js'
import type { RunType } from '../lib/config/run-types.js'
import { referenceSelectionSql } from '../test/helpers/reference-selection.js'
import { DEFAULT_DATABASE, benchTarget } from './load-catalog.js'

const RUN_TYPE: RunType = 'run3auau'
const MIN_EVENTS = 500000

async function stageSession(sql: postgres.Sql): Promise<void> {
  await sql`select set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false),
                   set_config('standard_conforming_strings', 'on', false), set_config('jit', 'off', false)`
}

async function explain(sql: postgres.Sql, select: string): Promise<string> {
  const rows = await sql.unsafe(`explain (analyze, buffers, settings) ${select}`)
  return rows.map((r) => r['QUERY PLAN'] as string).join('\n')
}

/** The last line of a plan: "Execution Time: N ms". */
const executionTime = (plan: string) => /Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? '?'

async function main(): Promise<void> {
  const argv = mri(process.argv.slice(2), { string: ['database', 'out'] })
  const database: string = argv.database ?? DEFAULT_DATABASE
  const out: string = argv.out ?? '/tmp/bench-plans.txt'
  const sql = connectCatalog(benchTarget(database))
  try {
    await stageSession(sql)
    const seed = referenceSelectionSql(RUN_TYPE, MIN_EVENTS)
    const ours = selectionSql(RUN_TYPE, MIN_EVENTS)
    // Warm the cache once, so neither plan pays for the first read from disk.
    await sql.unsafe(`select count(*) from (${ours}) x`)
    const seedPlan = await explain(sql, seed)
    const ourPlan = await explain(sql, ours)
    const [{ rows, seed_only: seedOnly, ours_only: oursOnly }] = await sql.unsafe(`
      with s as (${seed}), o as (${ours})
      select (select count(*) from s) as rows,
             (select count(*) from (select * from s except all select * from o) x) as seed_only,
             (select count(*) from (select * from o except all select * from s) x) as ours_only`)
    const equal = Number(seedOnly) === 0 && Number(oursOnly) === 0
    const proof = `${RUN_TYPE} > ${MIN_EVENTS} on ${database}: seed ${rows} rows; rows only in the seed's answer ${seedOnly}, ` +
      `only in ours ${oursOnly}: ${equal ? 'the same rows' : 'DIFFERENT'}`
    const text = [
      `caloprod: the query stage's selection vs caloprod 0.1's (the seed's rules), ${new Date().toISOString()}`,
      proof,
      `execution time: seed ${executionTime(seedPlan)} ms, ours ${executionTime(ourPlan)} ms`,
      '',
      '=== caloprod 0.1 (seed) ===',
      seed.trim(),
      '',
      seedPlan,
      '',
      '=== caloprod now (lib/catalog/query-files.ts selectionSql) ===',
      ours.trim(),
      '',
      ourPlan,
      '',
    ].join('\n')
    await writeFile(out, text)
    process.stdout.write(`${proof}\nexecution time: seed ${executionTime(seedPlan)} ms, ours ${executionTime(ourPlan)} ms\nplans in ${out}\n`)
    if (!equal) process.exitCode = 1
  } finally {
    await sql.end({ timeout: 5 })
  }
}

try {
  await main()
} catch (err) {
  process.stderr.write(`plans: ${(err as Error).message}\n`)
  process.exitCode = 1
}
