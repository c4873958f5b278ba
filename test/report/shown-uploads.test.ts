// A year of nights leaves a hundred thousand payloads in uploads.csv (bench/year-old.ts); the report and `status
// --since` read only those of the runs to process (shownUploads): the same rows, states and stories as from every
// payload, and a report and a status --since over other runs' payloads on a heap those payloads would not fit in.
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { gatherInputs, shownUploads } from '../../lib/report/gather.js'
import { runViews } from '../../lib/report/runs.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { appendUploads, readLatestUploads, type UploadRow } from '../../lib/upload/ledger.js'
import { tellStories } from '../../lib/why/story.js'
import { prepareSubmit, someRuns, TAG } from '../helpers/condor-output.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { ROOT, runStageHere, stageArgs } from '../helpers/run-script.js'

t.setTimeout(300_000)

const NEWER = 'new_newcdbtag_v009'
const OLDER = 'new_newcdbtag_v007'
const STATES: UploadRow['state'][] = ['uploading', 'created', 'uploaded', 'failed', 'present']

const upload = (runnumber: number, tag: string, type: UploadRow['type'], state: UploadRow['state'], i: number): UploadRow => ({
  time: new Date(Date.UTC(2026, 11, 1, 3) + i * 1000).toISOString(), runnumber, tag, type, globalTag: 'newcdbtag', state,
  checksum: 'ab'.repeat(16), piov: state === 'uploading' ? undefined : 100 + i, url: `${type}/ab/ab/x_${runnumber}.root`,
  detail: state === 'failed' ? 'POST piov answered 400: refused' : state === 'created' ? 'the attach was refused: 409' : '',
})

t.test('shownUploads: the runs to process under their tag and their run list tag, no other', async (t) => {
  const keep = shownUploads([{ runnumber: 1, tag: NEWER }, { runnumber: 2, tag: TAG }, { runnumber: 3, tag: TAG }],
    [{ runnumber: 1, tag: TAG }, { runnumber: 2, tag: TAG }, { runnumber: 4, tag: TAG }])
  const kept = [[1, TAG], [1, NEWER], [2, TAG], [4, TAG]]
  const left = [[1, OLDER], [2, NEWER], [3, TAG], [4, NEWER], [5, TAG]]
  t.same(kept.map(([runnumber, tag]) => keep({ runnumber: runnumber as number, tag: tag as string })), kept.map(() => true))
  t.same(left.map(([runnumber, tag]) => keep({ runnumber: runnumber as number, tag: tag as string })), left.map(() => false))
  t.equal(shownUploads(undefined, undefined)({ runnumber: 1, tag: TAG }), false, 'nothing to process: no upload read')
})

t.test('the rows and the stories from the uploads of the runs to process are those from every payload', async (t) => {
  // 68001-68003 to process under TAG (68002's run list has a newer tag since), 68004-68005 in the run list only.
  const s = await prepareSubmit(t, someRuns(3))
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${NEWER}\n68003,${TAG}\n68004,${TAG}\n68005,${NEWER}\n`)
  const submitted = await runStageHere('submit', ['--output', s.output, '--do-condor-submit'], s.env)
  t.equal(submitted.code, 0, submitted.stderr)
  for (const proc of ['0', '1', '2']) await fakeCondor(s.state, 'set', `1.${proc}`, 'completed', 'exit=0')
  // Every run under every tag, each payload in a state of its own, its latest row last.
  const rows: UploadRow[] = []
  for (const runnumber of [68001, 68002, 68003, 68004, 68005, 68006]) {
    for (const [j, tag] of [OLDER, TAG, NEWER].entries()) {
      for (const [k, type] of SEVEN_PAYLOAD_TYPES.entries()) {
        rows.push(upload(runnumber, tag, type, 'uploading', rows.length))
        const state = STATES[(runnumber + j + k) % STATES.length]!
        if (state !== 'uploading') rows.push(upload(runnumber, tag, type, state, rows.length))
      }
    }
  }
  await appendUploads(join(s.output, 'uploads.csv'), rows)
  const options = { output: s.output, runType: 'run3auau', maxAttempts: 3, timeout: 60, rules: { payloadTypes: SEED_RULES.payloadTypes } }
  const inputs = await gatherInputs(options, s.env, new Date())
  const every = await readLatestUploads(join(s.output, 'uploads.csv'))
  t.equal(inputs.uploads.length, 4 * 7, '68001-68003 under TAG, 68002 under its run list tag')
  t.equal(every.length, 6 * 3 * 7)
  const views = runViews(inputs)
  t.same(views, runViews({ ...inputs, uploads: every }), 'the same rows as from every payload')
  t.match(views.map((view) => view.state), ['uploaded', 'unchecked', 'uploaded', 'unchecked', 'unchecked'])
  const tell = (uploads: readonly UploadRow[]) => tellStories({
    ...options, rules: SEED_RULES, minEvents: undefined, runs: [68001, 68002, 68003], maxMemory: 4, memoryScale: 1.5,
    scheduler: inputs.scheduler.answered ? inputs.scheduler : inputs.scheduler.error, ledgers: { ledger: inputs.ledger, uploads },
  }, s.env)
  const stories = await tell(inputs.uploads)
  t.same(stories, await tell(every), 'the same stories as from every payload')
  t.same(stories.map((story) => story.uploads.length), [7, 7, 7], "each story tells its run list tag's uploads")
})

t.test('a report and a status --since over other runs\' payloads, on a heap they would not fit in', async (t) => {
  const s = await prepareSubmit(t, someRuns(2))
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  t.equal((await runStageHere('submit', ['--output', s.output, '--do-condor-submit'], s.env)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=0')
  const path = join(s.output, 'uploads.csv')
  await appendUploads(path, SEVEN_PAYLOAD_TYPES.map((type, i) => upload(68001, TAG, type, 'uploaded', i)))
  // A year of campaigns: 100,000 payloads of 10,000 other runs (10 tags each), a row each (17 MB): kept, they take
  // over 150 MB of heap.
  const other = (i: number) => upload(60000 + (i % 10000), `ana${400 + Math.floor(i / 10000)}_2024p009`, SEVEN_PAYLOAD_TYPES[i % 7]!, 'uploaded', i)
  for (let from = 0; from < 100_000; from += 10_000) await appendUploads(path, Array.from({ length: 10_000 }, (_, i) => other(from + i)))
  // Each in a child on a heap of 64 MB: what it says of a failure (the heap's FATAL ERROR, or the stage's line).
  const onSmallHeap = (stage: string, ...args: string[]) => promisify(execFile)(process.execPath, ['--max-old-space-size=64', ...stageArgs(stage, ...args)],
    { cwd: ROOT, env: { ...process.env, ...s.env } }).then(({ stdout }) => stdout,
    (err: Error & { stderr: string }) => err.stderr.split('\n').find((line) => /FATAL|Error|failed/.test(line)) ?? err.message)
  t.match(await onSmallHeap('status', '--output', s.output, '--since', '1d'), /^(caloprod status: no record of the runs' states|status: \d+ runs changed state since)/m, 'status --since')
  t.equal(await onSmallHeap('report', '--output', s.output, '--quiet'), '', 'the report written')
  t.match(readFileSync(join(s.output, 'report.html'), 'utf8'), /uploaded, awaiting the next check/, "the page tells 68001's uploads")
})
