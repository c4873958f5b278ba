#!/usr/bin/env -S npx tsx
// The query stage's SELECT against the seed's own two statements (test/helpers/reference-selection.ts: step A's
// temporary table t1, step B's join on run, tag and segment), on one connection of a bench catalog: the plans
// with EXPLAIN (ANALYZE, BUFFERS), and the proof that both return the same rows (EXCEPT ALL both ways over the
// seed's columns, so counts of duplicates count too). The bench catalog has no traps (test/demo/load-scale.ts),
// so the answers must be equal exactly. Not part of the tests.
//
//   npx tsx bench/plans.ts [--database caloprod_bench] [--out /tmp/bench-plans.txt]
import { writeFile } from 'node:fs/promises'
import { connectCatalog } from '../lib/catalog/connection.js'
import { buildSelection } from '../lib/catalog/selection.js'
import { runRange } from '../lib/rules/run-types.js'
import { SEED_RULES } from '../lib/rules/seed.js'
import { seedStepA, seedStepB } from '../test/helpers/reference-selection.js'
import { benchArgs } from './args.js'
import { DEFAULT_DATABASE, benchTarget } from './load-catalog.js'

const RUN_TYPE = 'run3auau'
const MIN_EVENTS = 500000

/** The last line of a plan: "Execution Time: N ms". */
const executionTime = (plan: string) => /Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? '?'

async function main(): Promise<void> {
  const argv = benchArgs('plans', 'Usage: npx tsx bench/plans.ts [--database caloprod_bench] [--out /tmp/bench-plans.txt]', { string: ['database', 'out'] })
  const database: string = argv.database ?? DEFAULT_DATABASE
  const out: string = argv.out ?? '/tmp/bench-plans.txt'
  // One connection (connectCatalog's max is 1), so step B finds step A's temporary table. Not sql.reserve(): with
  // fetch_types off, as the catalog's connection has it, postgres.js 3.4.9's reserve never settles on a pool that has
  // not connected yet (porsager/postgres#751, #1219), and the bench waited for ever.
  const conn = connectCatalog(benchTarget(database))
  try {
    await conn`select set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false),
                      set_config('standard_conforming_strings', 'on', false), set_config('jit', 'off', false)`
    const explain = async (statement: string) =>
      (await conn.unsafe(`explain (analyze, buffers, settings) ${statement}`)).map((r) => r['QUERY PLAN'] as string).join('\n')
    const { first, last } = runRange(RUN_TYPE)
    const ours = buildSelection(SEED_RULES, RUN_TYPE, MIN_EVENTS).select
    // Warm the cache once, so neither plan pays for the first read from disk.
    await conn.unsafe(`select count(*) from (${ours}) x`)
    const stepAPlan = await explain(seedStepA(first, last))
    const stepBPlan = await explain(seedStepB(MIN_EVENTS))
    const ourPlan = await explain(ours)
    const [{ rows, seed_only: seedOnly, ours_only: oursOnly }] = await conn.unsafe(`
      with s as (select tag, runnumber, full_file_path, events::text as events, time::text as time from (${seedStepB(MIN_EVENTS)}) b),
           o as (select tag, runnumber, full_file_path, events, time from (${ours}) x)
      select (select count(*) from s) as rows,
             (select count(*) from (select * from s except all select * from o) x) as seed_only,
             (select count(*) from (select * from o except all select * from s) x) as ours_only`)
    await conn.unsafe('drop table t1')
    const equal = Number(seedOnly) === 0 && Number(oursOnly) === 0
    const seedMs = (Number(executionTime(stepAPlan)) + Number(executionTime(stepBPlan))).toFixed(1)
    const proof = `${RUN_TYPE} > ${MIN_EVENTS} on ${database}: seed ${rows} rows; rows only in the seed's answer ${seedOnly}, ` +
      `only in ours ${oursOnly}: ${equal ? 'the same rows' : 'DIFFERENT'}`
    const times = `execution time: seed steps A + B ${seedMs} ms, ours ${executionTime(ourPlan)} ms`
    const text = [
      `caloprod: the query stage's selection vs the seed's two steps, ${new Date().toISOString()}`, proof, times, '',
      '=== the seed, step A ===', seedStepA(first, last).trim(), '', stepAPlan, '',
      '=== the seed, step B ===', seedStepB(MIN_EVENTS).trim(), '', stepBPlan, '',
      '=== caloprod (lib/catalog/selection.ts, --rules seed) ===', ours.trim(), '', ourPlan, '',
    ].join('\n')
    await writeFile(out, text)
    process.stdout.write(`${proof}\n${times}\nplans in ${out}\n`)
    if (!equal) process.exitCode = 1
  } finally {
    await conn.end({ timeout: 5 })
  }
}

try {
  await main()
} catch (err) {
  process.stderr.write(`plans: ${(err as Error).message}\n`)
  process.exitCode = 1
}
