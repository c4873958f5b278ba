// A bad Taskfile variable stops the night at its first stage, before the query asks the catalog anything.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runTask } from '../helpers/run-script.js'

t.setTimeout(300_000)

t.test('MEMORY=lots is refused by the query, the first stage, naming the variable; nothing is written', async (t) => {
  const output = join(t.testdir(), 'out')
  mkdirSync(output) // a directory of earlier nights
  // No catalog anywhere: a query that got as far as connecting would fail otherwise.
  const night = await runTask(['--silent', 'submit', 'MEMORY=lots', `OUTPUT=${output}`], { CALOPROD_DB_URL: 'postgres://nobody@127.0.0.1:1/FileCatalog' })
  t.not(night.code, 0)
  t.match(night.stderr, /^caloprod query: CALOPROD_MEMORY: /m)
  t.notMatch(night.stderr, /caloprod (reduce|check|lists|condor)/, 'no later stage ran')
  t.notOk(existsSync(join(output, 'query.csv')))
  const record = JSON.parse(readFileSync(join(output, 'log', 'last-night.json'), 'utf8'))
  t.match(record.stages.query, { code: 2, line: /^CALOPROD_MEMORY: / }, "the report's banner will say it")
  // The deferred report takes no memory: it writes the page, whose banner says why the night stopped, and the mail
  // holds one line, not the same refusal twice.
  t.equal(night.stderr.match(/^caloprod \w+: /gm)?.length, 1, night.stderr)
  t.match(record.stages.report, { code: 0 })
  const page = readFileSync(join(output, 'report.html'), 'utf8')
  t.match(page, /<b>query failed<\/b> at [^<]* \(exit 2\): <span class="line">CALOPROD_MEMORY: cannot parse &quot;lots&quot;/)
})
