// A campaign night's page: thousands of runs to process, each with its story. Every story must still open from the
// page, by its run's link and by a link to `#run-<run>`, and say what `why` says; and the page must not grow by a
// story's whole text per run (drawn as sections, 12,000 stories made a 14.6 MB page, seconds from interactive). A
// night's page (up to INLINE_STORIES runs to process) still carries its stories as sections and runs no script.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { INLINE_STORIES } from '../../lib/report/page.js'
import { startBrowser } from '../helpers/browser.js'
import { someRuns, writeStageInputs } from '../helpers/condor-output.js'
import { FAKE_GENSTATUS, fakeCondorEnv } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

t.setTimeout(900_000)

/**
 * `count` runs to process in `root`, each submitted (its own job) and in the fake queue beside it, as a campaign
 * night leaves them, and the report's page of them.
 */
async function campaign(t: Test, root: string, count: number) {
  const runs = someRuns(count, 70001)
  const output = join(root, 'out')
  const env = fakeCondorEnv(join(root, 'condor.json'))
  writeStageInputs(output, runs)
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n${runs.map((r) => `${r.run},${r.tag}\n`).join('')}`)
  const condor = ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs')]
  for (const [stage, args] of [['condor', condor], ['submit', ['--output', output, '--do-condor-submit']], ['report', ['--output', output]]] as const) {
    const result = await runStageHere(stage, [...args, '--quiet'], env)
    t.equal(result.code, 0, `${stage}: ${result.stderr}`)
  }
  return { output, env, page: join(output, 'report.html') }
}

const told = async (out: { output: string; env: Record<string, string> }, run: number) => {
  const why = await runStageHere('why', ['--output', out.output, '--run', String(run)], out.env)
  return why.stdout.trim()
}

t.test('3,000 runs to process: each story opens from its link and from its address, as why tells it', async (t) => {
  const dir = t.testdir()
  const small = await campaign(t, join(dir, 'small'), 300)
  const large = await campaign(t, join(dir, 'large'), 3000)
  // A row of the table and a tick of the states plot are about 370 bytes; a story drawn as a section adds about 700
  // more (3,000 runs: 3.65 MB), its data about 170 (its lines with the run's job, the numbers of the others).
  const perRun = statSync(large.page).size / 3000
  t.ok(perRun < 700, `the page holds ${perRun.toFixed(0)} bytes a run to process`)
  const night = readFileSync(small.page, 'utf8')
  t.notMatch(night, /<script/, `${INLINE_STORIES} runs or fewer: no script`)
  t.equal(night.match(/<section class="story" id="run-\d+">/g)?.length, 300, 'every story a section')
  t.match(readFileSync(large.page, 'utf8'), /<script type="application\/json" id="story-data">/, 'more: the stories as data')

  const browser = await startBrowser()
  t.teardown(() => browser.close())
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())))

  // A link from elsewhere (a mail, a note) to one run's story.
  const url = pathToFileURL(large.page).href
  await page.goto(`${url}#run-71500`, { waitUntil: 'load' })
  await page.waitForSelector('section.story:target')
  const opened = await page.$eval('section:target', (section) => ({ id: section.id, text: section.textContent ?? '' }))
  t.equal(opened.id, 'run-71500', 'the address opens the run\'s story')
  t.equal(opened.text, await told(large, 71500), 'the story `why` tells')
  t.match(opened.text, /scheduler now: queued: job 1\.1499 /, "its own job's line")
  t.equal(await page.locator('section.story').count(), 1, 'only the story asked for is drawn')

  // The run's link in the table of every run.
  await page.click('#runs-table a[href="#run-72999"]')
  await page.waitForFunction(() => document.querySelector('section.story:target')?.id === 'run-72999')
  const clicked = await page.$eval('section:target', (section) => {
    const box = section.getBoundingClientRect()
    return { text: section.textContent ?? '', visible: box.bottom > 0 && box.top < window.innerHeight }
  })
  t.equal(clicked.text, await told(large, 72999), 'the link opens the story `why` tells')
  t.ok(clicked.visible, 'scrolled into view')

  // Back to the first story: it is there, and it is the target again.
  await page.goBack()
  await page.waitForFunction(() => document.querySelector('section.story:target')?.id === 'run-71500')

  // Every story at once, for the browser's search: each once, the two opened among them, as `why` tells them.
  await page.click('a[href="#every-story"]')
  await page.waitForFunction(() => document.getElementById('every-story')?.hasAttribute('data-every'))
  const drawn = await page.$$eval('section.story', (sections) => sections.map((section) => section.id))
  t.equal(new Set(drawn).size, 3000, 'every story drawn, once')
  t.equal(await page.$eval('#run-72999', (section) => section.textContent), clicked.text, 'the same story')
  t.same(errors, [], 'no error, no rule of the page\'s policy broken')
})
