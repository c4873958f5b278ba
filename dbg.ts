import { buildSelection } from '/work/wt/rules/lib/catalog/selection.js'
import { SEED_RULES } from '/work/wt/rules/lib/rules/seed.js'
import { CURRENT_RULES } from '/work/wt/rules/lib/rules/current.js'
console.log(buildSelection(process.argv[2] === 'current' ? CURRENT_RULES : SEED_RULES, 'run3auau', process.argv[3] ? Number(process.argv[3]) : undefined).select)
