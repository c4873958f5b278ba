// Under the `current` rules without a threshold the query reads the winning tags first (lib/catalog/selection.ts,
// winner-first); the general statement gives the same rows, in the same order, on catalogs with every trap.
import t from 'tap'
import { buildSelection } from '../../lib/catalog/selection.js'
import type { RunType } from '../../lib/rules/run-types.js'
import { CATALOG_INDEXES } from '../demo/load-scale.js'
import { loadCatalog } from '../demo/load.js'
import { CURRENT_RULES } from '../../lib/rules/current.js'
import { freshDatabase } from '../helpers/database.js'

for (const seed of [1, 2, 3]) {
  t.test(`catalog ${seed}: winner-first and the general statement give the same rows`, async (t) => {
    const { sql } = await freshDatabase(t)
    await loadCatalog(sql, { seed, traps: true, runs: { run2pp: 4, run2auau: 3, run3auau: 25 } })
    // With the catalog's type index (the loose scan and the per-tag lookups use it) and without.
    for (const indexed of [false, true]) {
      if (indexed) for (const statement of CATALOG_INDEXES) await sql.unsafe(statement)
      await sql`analyze`
      for (const runType of ['run3auau', 'run2pp'] as RunType[]) {
        const rows = async (winnerFirst: boolean) =>
          sql.unsafe(buildSelection(CURRENT_RULES, runType, undefined, { winnerFirst }).select).values()
        const [fast, general] = [await rows(true), await rows(false)]
        t.ok(general.length > 0, `${runType}: rows to compare (${general.length})`)
        t.same(fast, general, `${runType}${indexed ? ', indexed' : ''}: the same rows in the same order`)
      }
    }
  })
}
