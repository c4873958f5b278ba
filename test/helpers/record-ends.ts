// A writer for the last-night.json race test: records `count` ends of the stage named `stage` into `output`, one
// after another, as a stage (or a report beside it) records its own; started as a process of its own, many at once.
import { recordStageEnd } from '../../lib/report/last-night.js'

const [output, stage, count] = process.argv.slice(2)
for (let i = 1; i <= Number(count); i++) {
  await recordStageEnd(output!, stage!, { at: new Date().toISOString(), code: 0, line: `${stage} end ${i}` }, false)
}
