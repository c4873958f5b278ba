// The report links each run to process to its story (`why`'s lines), a section of the same page: clicked in
// headless Chromium, the link lands on the run's section, which says what `why` says.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startBrowser } from '../helpers/browser.js'
import { fakeCondor, readFakeState } from '../helpers/fake-condor.js'
import { afterSeveralNights, HOLD_REASON } from '../helpers/report-output.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(600_000)

t.test('a run of the table links to its story on the same page', async (t) => {
  const out = await afterSeveralNights(t)
  const asked = () => readFakeState(out.condorState).calls.filter((call) => call.program === 'condor_q').length
  const before = asked()
  const report = await runStageHere('report', ['--output', out.output, '--max-attempts', '2'], out.env)
  t.equal(report.code, 0, report.stderr)
  t.equal(asked() - before, 1, 'the stories use the answer the report already has: the scheduler is asked once')
  const why = await runStageHere('why', ['--output', out.output, '--run', '66506', '--max-attempts', '2'], out.env)
  t.equal(why.code, 0, why.stderr)

  const browser = await startBrowser()
  t.teardown(() => browser.close())
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`file://${join(out.output, 'report.html')}`, { waitUntil: 'load' })
  const links = await page.$$eval('#runs-table a[href^="#run-"]', (as) => as.map((a) => a.getAttribute('href')))
  t.ok(links.includes('#run-66506') && links.includes('#run-66503'), 'the runs to process are links')
  t.notOk(links.includes('#run-66500'), 'a current run has no story section: its row says it all')
  await page.click('#runs-table a[href="#run-66506"]')
  await page.waitForFunction(() => location.hash === '#run-66506')
  const story = await page.$eval('section:target', (section) => ({ id: section.id, text: section.textContent ?? '' }))
  t.equal(story.id, 'run-66506', 'the link lands on the run\'s section')
  t.equal(story.text.trim(), why.stdout.trim(), 'the section is the story `why` tells')
  t.match(story.text, /next: nothing: given up after 2 attempts/)
  const visible = await page.$eval('section:target', (section) => {
    const box = section.getBoundingClientRect()
    return box.bottom > 0 && box.top < window.innerHeight
  })
  t.ok(visible, `scrolled into view`)
  t.same(errors, [])
})

t.test('a run held for memory that the next submit releases needs no person; its row says what comes next', async (t) => {
  const out = await afterSeveralNights(t)
  const report = (extra: string[] = []) => runStageHere('report', ['--output', out.output, '--max-attempts', '2', ...extra], out.env)
  t.equal((await report()).code, 0)
  const attentionOf = (html: string) => /<table id="attention-table">[\s\S]*?<\/table>/.exec(html)?.[0] ?? ''
  t.match(attentionOf(readFileSync(join(out.output, 'report.html'), 'utf8')), /<td>66503<\/td><td>[^<]*<\/td><td class="what">held<\/td>/, 'held for another reason: a person')
  const id = (await fakeCondor(out.condorState, 'list')).split('\n').find((line) => line.includes('66503_'))!.split(' ')[0]!
  await fakeCondor(out.condorState, 'set', id, 'held', `reason=${HOLD_REASON}`, 'code=34')
  t.equal((await report()).code, 0)
  const html = readFileSync(join(out.output, 'report.html'), 'utf8')
  t.notMatch(attentionOf(html), /<td>66503<\/td><td>[^<]*<\/td><td class="what">held<\/td>/, 'held for memory, to be released: no person needed')
  t.match(html, /title="[^"]*next night: release 2 of 2: held for memory with 512 MB; given 768 MB"/, 'the row says what the next night does')
})
