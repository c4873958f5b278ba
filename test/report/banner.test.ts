// The page after a bad night, in headless Chromium: it opens with the stage that failed, its one line and since when
// the run type has had no good night; files the stages would refuse are named there, and the page is still written.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startBrowser, visitFile, type Browser } from '../helpers/browser.js'
import { someRuns, stagedOutput } from '../helpers/condor-output.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(300_000)

let browser: Browser | undefined
t.teardown(async () => browser?.close())

/** The text of `selector` on the report page as Chromium renders it, or null where the page has no such element. */
async function shown(t: Test, output: string, selector: string): Promise<string | null> {
  browser ??= await startBrowser()
  const visit = await visitFile(browser, join(output, 'report.html'))
  t.same(visit.consoleErrors, [])
  const text = await visit.page.locator(selector).count() ? await visit.page.locator(selector).innerText() : null
  await visit.page.close()
  return text
}

t.test('a failed night opens the page: the stage, its line, and since when there was no good night', async (t) => {
  const { output, env } = await stagedOutput(t, someRuns(3), { runList: true, condor: true })
  const report = async () => {
    const result = await runStageHere('report', ['--output', output], env)
    t.equal(result.code, 0, result.stderr)
    return result
  }

  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await report()
  t.equal(await shown(t, output, '#last-night'), null, 'a good night: no banner')

  const failed = await runStageHere('submit', ['--output', output, '--do-condor-submit'], { ...env, FAKE_CONDOR_Q_MODE: 'fail' })
  t.equal(failed.code, 1)
  const line = failed.stderr.trim().replace(/^caloprod submit: /, '')
  await report()
  const banner = await shown(t, output, '#last-night')
  t.match(banner, /^submit failed at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(exit 1\): /)
  t.ok(banner?.includes(line), `the stage's own line: ${line}`)
  t.match(banner, /run3auau has had no good night since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(the last submit that succeeded\)/)
  t.match(await shown(t, output, '#headline'), /3\s*submitted|3\s*queued/, 'the rest of the page as before')

  // Files the stages refuse: an empty reduce.csv, a hand-broken uploads.csv; the page is written all the same.
  writeFileSync(join(output, 'reduce.csv'), '')
  writeFileSync(join(output, 'uploads.csv'), 'not,the,header\n')
  const broken = await runStageHere('report', ['--output', output], env)
  t.equal(broken.code, 1, 'the report fails on a file the stages would refuse')
  t.match(broken.stderr, /^caloprod report: .*(reduce|uploads)\.csv:1: .* \(and 1 more\); the page was written without it\n$/)
  const unreadable = await shown(t, output, '#unreadable')
  t.match(unreadable, /reduce\.csv:1: is empty; expected at least the header/)
  t.match(unreadable, /uploads\.csv/)
  t.match(await shown(t, output, '#last-night'), /^submit failed/, 'the failed night is still said')

  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  writeFileSync(join(output, 'reduce.csv'), 'runnumber,tag,segment,events,full_file_path,time\n')
  writeFileSync(join(output, 'uploads.csv'), '')
  await report()
  t.equal(await shown(t, output, '#last-night'), null, 'a good night again: the banner is gone')
  t.equal(await shown(t, output, '#unreadable'), null)

  // A hand-edited record of the nights (a stage null, a code in quotes, a time that is no date): named on the page,
  // which is still written, not a TypeError and no page; the next stage writes the record afresh.
  const record = join(output, 'log', 'last-night.json')
  for (const edit of ['{"stages": {"check": null}}', '{"stages": {"submit": {"at": "2026-12-01T02:00:00Z", "code": "1", "line": "x"}}}',
    '{"stages": {}, "lastGood": "yesterday"}']) {
    writeFileSync(record, `${edit}\n`)
    rmSync(join(output, 'report.html'))
    const edited = await runStageHere('report', ['--output', output], env)
    t.equal(edited.code, 1, edit)
    t.match(edited.stderr, /^caloprod report: \S+last-night\.json is not caloprod's record of the last night \(.+\); the next stage to end writes it afresh; the page was written without it\n$/)
    t.match(await shown(t, output, '#unreadable'), /last-night\.json is not caloprod's record/, 'named on the page')
    t.match(await shown(t, output, '#headline'), /3\s*(submitted|queued)/, 'the rest of the page written')
  }
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await report()
  t.equal(await shown(t, output, '#unreadable'), null, 'written afresh by the next stage')
})
