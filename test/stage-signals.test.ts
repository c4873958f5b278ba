// A stage stopped by SIGINT or SIGTERM (a person's Ctrl-C, a timeout, go-task passing it on) exits 130 or 143,
// as a shell reports them, after it released the lock and removed its temporary files; a second signal ends it
// at once.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { layout } from '../lib/files/layout.js'
import { collectOutput } from './helpers/run-script.js'
import { spawn } from 'node:child_process'

const HELD = join(import.meta.dirname, 'helpers', 'held-stage.ts')

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${signal}: exit ${code}, the lock released, the temporary file removed`, async (t) => {
    const out = t.testdir()
    const { child, done } = collectOutput(spawn(process.execPath, ['--import', 'tsx', HELD, '--output', out], { stdio: ['ignore', 'pipe', 'pipe'] }))
    const temps = () => readdirSync(out).filter((name) => name.endsWith('.tmp'))
    // In the body: the lock taken and held.csv's temporary file open (the lock has one of its own while taken).
    while (!temps().some((name) => name.startsWith('.held.csv.')) || !existsSync(layout.lockFile(out))) await new Promise((resolve) => setTimeout(resolve, 100))
    child.kill(signal)
    const result = await done
    t.equal(result.code, code, result.stderr)
    t.equal(result.stderr, `caloprod held: stopped by ${signal}\n`)
    t.same(temps(), [], 'no temporary file')
    t.notOk(existsSync(layout.lockFile(out)), 'the lock of a stage run by hand is removed')
    t.notOk(existsSync(join(out, 'held.csv')), 'nothing half-written under the real name')
  })
}
