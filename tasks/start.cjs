// Starts a stage script from source the way the Taskfile runs every stage: `node tasks/start.cjs tasks/<stage>.ts ARGS`.
// tsx's CommonJS hooks compile each .ts file on require, on this thread. `node --import tsx` also works, but it
// runs tsx's ES-module hooks on a loader thread of their own, a second V8 isolate, and every module makes a round
// trip to it. Started this way a stage needs 22 to 28 MB less memory and 0.1 to 0.25 s less (docs/speed.md,
// "Stages through tsx's CommonJS hooks").
// The script sees itself as argv[1], as it would if started directly, so its flags and tasks/main.ts's
// isEntryPoint are the same either way. A stage script therefore has no top-level await.
'use strict'
const { existsSync } = require('node:fs')
const { resolve } = require('node:path')

if (!process.argv[2]) {
  process.stderr.write('usage: node tasks/start.cjs tasks/<stage>.ts [flags]\n')
  process.exit(2)
}
const script = resolve(process.argv[2])
if (!existsSync(script)) {
  process.stderr.write(`caloprod: ${script}: no such script\n`)
  process.exit(2)
}
require('tsx/cjs')
process.argv.splice(1, 2, script)
require(script)
