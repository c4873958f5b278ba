// The report links each run to process to its story (`why`'s lines), a section of the same page: clicked in
// headless Chromium, the link lands on the run's section, which says what `why` says.
import { join } from 'node:path'
import t from 'tap'
import { startBrowser } from '../helpers/browser.js'
import { afterSeveralNights } from '../helpers/report-output.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(600_000)

t.test('a run of the table links to its story on the same page', async (t) => {
  const out = await afterSeveralNights(t)
  const report = await runStageHere('report', ['--output', out.output, '--max-attempts', '2'], out.env)
  t.equal(report.code, 0, report.stderr)
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
