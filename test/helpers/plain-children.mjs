// Loaded into every test process (package.json, tap's node-arg): the programs a test starts (stages, the runner,
// the fakes) run without tap's per-process instrumentation (@tapjs/processinfo, which tap adds to every child's
// NODE_OPTIONS for coverage). Coverage is off here (disable-coverage), and the instrumentation tripled the start-up
// of a small program, most of the suite's time; the programs now start as they do for a person or cron.
// processinfo adds itself through process-on-spawn's listeners; this one runs after it and takes it out again.
import { createRequire } from 'node:module'

const processOnSpawn = createRequire(import.meta.resolve('@tapjs/processinfo'))('process-on-spawn')
const INSTRUMENTATION = /(^|\s)"?--(?:import|loader|require)[= ][^"\s]*@tapjs[/\\]processinfo[^"\s]*"?/g

processOnSpawn.addListener((spawned) => {
  const options = spawned.env.NODE_OPTIONS
  if (options === undefined) return
  const plain = options.replace(INSTRUMENTATION, '').trim()
  const { NODE_OPTIONS: _, ...rest } = spawned.env
  spawned.env = plain === '' ? rest : { ...rest, NODE_OPTIONS: plain }
})
