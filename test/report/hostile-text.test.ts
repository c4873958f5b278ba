// Text caloprod did not write, on the page in headless Chromium: a hold reason from HTCondor, a stage's line, and the
// times of hand-edited files (the ledger, last-night.json; Date.parse takes a time with words before it) carrying
// markup must show as text and run nothing, in the page and in a run's story (data the page's script draws: a
// `</script>` in it must not end the block); a bidi override shows as `\u202e`, not as text reversed.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startBrowser, visitFile, type Browser } from '../helpers/browser.js'
import { someRuns, stagedOutput, TAG } from '../helpers/condor-output.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(300_000)

let browser: Browser | undefined
t.teardown(async () => browser?.close())

/** Each handler, should it run, sets the title and calls a function no page has: an error Chromium reports. */
const run = (name: string) => `document.title='${name}';${name}()`
const HOLD = `Error from slot1@wn: </script><script>${run('script')}</script><img src=x onerror="${run('hold')}"> \u202eevil.sh`
const LINE = `nopayloaddb answered 500: an HTML page "<img src=x onerror=${run('line')}>"`

t.test('outside text on the page shows as text and runs nothing', async (t) => {
  const { output, queue, env } = await stagedOutput(t, someRuns(3), { runList: true, condor: true })
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  await fakeCondor(queue, 'set', '1.0', 'held', `reason=${HOLD}`)
  // 68003's job gone from every schedd: the page's time for it is the ledger's.
  const state = JSON.parse(readFileSync(queue, 'utf8'))
  state.jobs = state.jobs.filter((job: { CaloprodRunTag: string }) => job.CaloprodRunTag !== `68003_${TAG}`)
  writeFileSync(queue, JSON.stringify(state))

  // A first report records the runs' states, so that the page has changes since the last good night to show.
  t.equal((await runStageHere('report', ['--output', output], env)).code, 0)
  // A person's edits: the ledger's time of 68003, the last good night and the record of a failed stage after it, each
  // a time Date.parse takes.
  const ledger = join(output, 'submissions.csv')
  const [header, ...rows] = readFileSync(ledger, 'utf8').trimEnd().split('\n')
  const edited = rows.map((row) => (row.includes(',68003,') ? row.replace(/^[^,]+/, '<svg/onload=c()>2026-12-01') : row))
  writeFileSync(ledger, `${[header, ...edited].join('\n')}\n`)
  const record = join(output, 'log', 'last-night.json')
  const night = JSON.parse(readFileSync(record, 'utf8'))
  night.lastGood = '<svg/onload=_()>2026-11-30'
  night.stages.upload = { at: '<svg/onload=a()>2099-12-01', code: 1, line: LINE }
  writeFileSync(record, JSON.stringify(night))

  const result = await runStageHere('report', ['--output', output], env)
  t.equal(result.code, 0, result.stderr)
  browser ??= await startBrowser()
  const visit = await visitFile(browser, join(output, 'report.html'))
  t.same(visit.consoleErrors, [], 'no handler ran (each would throw)')
  t.equal(await visit.page.title(), 'caloprod run3auau: the run type at a glance', 'no handler set the title')
  t.equal(await visit.page.locator('img, svg[onload]').count(), 0, 'no element from outside text')
  const text = await visit.page.innerText('body')
  t.ok(text.includes(`<img src=x onerror="${run('hold')}"> \\u202eevil.sh`), 'the hold reason as text, its override shown')
  t.ok(text.includes(LINE), "the stage's line as text")
  t.ok(text.includes('<svg/onload=a()> UTC'), "the record's time as text")
  t.ok(text.includes('<svg/onload=c()> UTC'), "the ledger's time as text")
  t.ok(text.includes('Changed since the last good night, <svg/onload=_()> UTC'), 'the last good night as text')
  t.notOk(text.includes('\u202e'), 'no bidi override reaches the page')
  // The held run's story, drawn by the page's script from its data: the hold reason in it as text.
  await visit.page.click('#runs-table a[href="#run-68001"]')
  const story = await visit.page.waitForSelector('section.story:target')
  const told = (await story.textContent()) ?? ''
  t.match(told, /^run 68001 [^]*\n {2}scheduler now: held: /, "the held run's story")
  t.ok(told.includes(`Error from slot1@wn: </script><script>${run('script')}</script><img src=x onerror="${run('hold')}"> \\u202eevil.sh`), 'the hold reason in it as text')
  t.equal(await visit.page.locator('img, svg[onload], section.story script').count(), 0, 'no element from the story')
  t.same(visit.consoleErrors, [], 'no handler ran')
  t.equal(await visit.page.title(), 'caloprod run3auau: the run type at a glance', 'no handler set the title')
  await visit.page.close()
})

t.test('should markup slip into the page one day, its Content-Security-Policy runs no script and fetches nothing', async (t) => {
  const { output, env } = await stagedOutput(t, someRuns(2), { runList: true })
  t.equal((await runStageHere('report', ['--output', output], env)).code, 0)
  const page = join(output, 'report.html')
  const clean = await visitFile((browser ??= await startBrowser()), page)
  t.same(clean.consoleErrors, [], 'the page as written breaks no rule of its own policy')
  t.ok(await clean.page.locator('#plot-states svg').count(), 'the plots drawn under it')
  await clean.page.close()
  // What an escape forgotten in page.ts would let through.
  const slip = `<img src="http://127.0.0.1:9/x.png" onerror="${run('slip')}"><svg onload="${run('svg')}"></svg>` +
    `<iframe src="data:text/html,<script>parent.document.title='frame'</script>"></iframe>` +
    // The page's own script runs by its hash: a script that is not it does not.
    `<script>${run('script')}</script>`
  writeFileSync(page, readFileSync(page, 'utf8').replace('<h2 id="attention">', `${slip}<h2 id="attention">`))
  const visit = await visitFile(browser, page)
  t.equal(await visit.page.title(), 'caloprod run3auau: the run type at a glance', 'no handler ran')
  // Chromium announces the image's request, then blocks it: its console says so, as it does for the frame.
  t.ok(visit.consoleErrors.some((e) => /^Loading the image 'http:\/\/127\.0\.0\.1:9\/x\.png' violates .*Content Security Policy/.test(e)), 'no image fetched')
  t.ok(visit.consoleErrors.some((e) => /^Framing .* violates .*Content Security Policy/.test(e)), 'no frame loaded')
  t.ok(visit.consoleErrors.some((e) => /^Executing inline script violates .*Content Security Policy/.test(e)), 'no other script run')
  t.notOk(visit.consoleErrors.some((e) => /is not defined/.test(e)), 'no handler ran (each would throw)')
  await visit.page.close()
})
