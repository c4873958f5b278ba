// The report page, in real headless Chromium: after one night, after several nights (held, failed, given up,
// done, done too long), in a brand-new output directory, and with a scheduler that does not answer.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startBrowser, visitFile, type Browser, type PageVisit } from './helpers/browser.js'
import { afterOneNight, afterSeveralNights, HOLD_REASON, RUNS } from './helpers/report-output.js'
import { ROOT, runStageHere } from './helpers/run-script.js'

// Three nights of the pipeline and a real browser: more than the default 180 s on a machine shared by many.
t.setTimeout(600_000)

let browser: Browser | undefined
const chromium = async () => (browser ??= await startBrowser())
t.teardown(async () => browser?.close())

const PLOTS = ['plot-states', 'plot-nights', 'plot-missing', 'plot-payloads']

/** Writes a screenshot under .tap/ for a person to look at. */
async function screenshot(visit: PageVisit, name: string): Promise<string> {
  mkdirSync(join(ROOT, '.tap', 'screenshots'), { recursive: true })
  const path = join(ROOT, '.tap', 'screenshots', `report-${name}.png`)
  await visit.page.screenshot({ path, fullPage: true })
  return path
}

/**
 * Loads the page and checks what every night's page must: no console error, nothing fetched beyond file://, no script
 * (a campaign night's page has one of its own: test/report/campaign-page.test.ts).
 */
async function load(t: Test, output: string, name: string): Promise<PageVisit> {
  const path = join(output, 'report.html')
  t.notMatch(readFileSync(path, 'utf8'), /<script|<link|<img|@import|url\(/i, 'self-contained: no script, nothing to fetch')
  const visit = await visitFile(await chromium(), path)
  t.same(visit.consoleErrors, [], 'no console error')
  t.same(visit.requestsOutsideFile, [], 'no request leaves file://')
  t.ok(statSync(await screenshot(visit, name)).size > 0, 'screenshot written')
  return visit
}

/** Each plot's SVG: its size on the page and how many marks it draws (axes and legends aside). */
async function plotShapes(visit: PageVisit) {
  return visit.page.evaluate((ids) =>
    ids.map((id) => {
      const svg = document.querySelector(`#${id} svg[class^="plot"]`) as SVGSVGElement | null
      const box = svg?.getBoundingClientRect()
      const marks = svg ? svg.querySelectorAll('g[aria-label]:not([aria-label$="axis"]):not([aria-label$="tick"]):not([aria-label$="label"]) > :is(line, rect, circle, path)').length : 0
      return { id, width: box?.width ?? 0, height: box?.height ?? 0, marks }
    }), PLOTS)
}

const report = (output: string, env: Record<string, string>, extra: string[] = []) => runStageHere('report', ['--output', output, '--max-attempts', '2', ...extra], env)

t.test('after one night', async (t) => {
  const out = await afterOneNight(t)

  t.test('headline, runs that need a person, a row per run, four plots with marks', async (t) => {
    const result = await report(out.output, out.env)
    t.equal(result.code, 0, result.stderr)
    t.equal(result.stderr, '')
    t.match(result.stdout, /^report: 12 runs: 3 current in the CDB, 1 needs maps, 8 queued; 1 needs a person; .*report\.html\n$/)
    const visit = await load(t, out.output, 'one-night')
    const text = await visit.page.innerText('body')
    t.match(text, /3\s*current in the CDB/)
    t.match(text, /8\s*queued/)
    const attention = await visit.page.innerText('#attention-table')
    t.notMatch(attention, /66503/, 'a queued run with one file of four missing is routine')
    t.match(attention, /66505\s+\S+\s+no list\s+no list in datasets\/: too few events on disk \(3 of 4 files missing on disk/)
    t.equal(attention.match(/66505/g)?.length, 1, 'once')
    t.equal(await visit.page.locator('#runs-table tbody tr').count(), RUNS, 'one row per run')
    t.equal(await visit.page.locator('#runs-table tbody tr').first().locator('td').first().innerText(), '66511', 'newest run first')
    const shapes = await plotShapes(visit)
    for (const plot of shapes) {
      t.ok(plot.width > 100 && plot.height > 50, `${plot.id}: ${plot.width}×${plot.height}`)
      t.ok(plot.marks > 0, `${plot.id}: ${plot.marks} marks`)
    }
    t.equal(shapes[0]!.marks, RUNS, 'one tick per run along the run axis')
  })

  t.test("a scheduler that does not answer: said at the top, the ledger's view, exit 0", async (t) => {
    const result = await report(out.output, { ...out.env, FAKE_CONDOR_Q_MODE: 'fail' })
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, /8 submitted, no word from the scheduler.*the scheduler did not answer/)
    const visit = await load(t, out.output, 'scheduler-silent')
    t.match(await visit.page.innerText('#scheduler-silent'), /The scheduler did not answer: cannot ask the scheduler what is in flight: condor_q failed/)
    t.equal(await visit.page.locator('#runs-table tbody tr').count(), RUNS)
  })

  t.test("reduce.csv's runs are kept in .report-runs.json while reduce.csv, the missing and process lists are unchanged", async (t) => {
    const footer = () => /reduce\.csv: files and events of (\d+) runs?; \S+: (\d+) missing files?/.exec(readFileSync(join(out.output, 'report.html'), 'utf8'))!.slice(1).map(Number)
    t.equal((await report(out.output, out.env)).code, 0)
    const [runs, missing] = footer()
    t.equal(runs, RUNS)
    t.ok(missing > 0)
    const cachePath = join(out.output, '.report-runs.json')
    const cache = JSON.parse(readFileSync(cachePath, 'utf8'))
    // A record whose inputs match is used as it is: one run left in it shows on the page.
    writeFileSync(cachePath, JSON.stringify({ ...cache, value: cache.value.slice(0, 1) }))
    t.equal((await report(out.output, out.env)).code, 0)
    t.same(footer(), [1, 0])
    t.match(readFileSync(join(out.output, 'report.html'), 'utf8'), /files and events of 1 run; \S+: 0 missing files;/, 'one run, in the singular')
    // A missing file more: the record no longer holds, reduce.csv is read again.
    const missingCsv = join(out.output, readdirSync(out.output).find((name) => name.endsWith('-missing.csv'))!)
    const before = readFileSync(missingCsv, 'utf8')
    const reduce = readFileSync(join(out.output, 'reduce.csv'), 'utf8').split('\n')
    const present = reduce.map((line) => line.split(',')[4]).find((path) => path && path.startsWith('/') && !before.includes(path))!
    writeFileSync(missingCsv, `${before}${present}\n`)
    t.teardown(() => writeFileSync(missingCsv, before))
    t.equal((await report(out.output, out.env)).code, 0)
    t.same(footer(), [RUNS, missing], 'read again: every run')
    // A read-only look reads the record but never writes it.
    writeFileSync(cachePath, JSON.stringify({ ...cache, value: cache.value.slice(0, 1) }))
    const stdout = await report(out.output, out.env, ['--stdout'])
    t.equal(stdout.code, 0)
    t.equal(readFileSync(cachePath, 'utf8'), JSON.stringify({ ...cache, value: cache.value.slice(0, 1) }))
  })

  t.test('a hand-broken input fails the report with its file and line; the page is written, naming it', async (t) => {
    const ledger = join(out.output, 'submissions.csv')
    const good = readFileSync(ledger, 'utf8')
    writeFileSync(ledger, `${good}2026-01-01T00:00:00Z,notarun,x,1,submitted,1,0,,,s,\n`)
    t.teardown(() => writeFileSync(ledger, good))
    const broken = await report(out.output, out.env)
    t.equal(broken.code, 1)
    t.match(broken.stderr, /^caloprod report: .*submissions\.csv:\d+: runnumber "notarun" is not a whole number; the page was written without it\n$/)
    t.match(readFileSync(join(out.output, 'report.html'), 'utf8'), /<div class="banner failed" id="unreadable">.*submissions\.csv:\d+: runnumber &quot;notarun&quot;/)
  })
})

t.test('after several nights: held with its reason, given up, done too long, per-night outcomes', async (t) => {
  const out = await afterSeveralNights(t)
  const result = await report(out.output, out.env)
  t.equal(result.code, 0, result.stderr)
  const visit = await load(t, out.output, 'several-nights')
  const text = await visit.page.innerText('body')
  t.match(text, HOLD_REASON, "the held run's reason is on the page")
  t.match(text, /66503\s+\S+\s+held\s+Job has gone over memory limit/)
  t.match(text, /66506\s+\S+\s+given up\s+2 of 2 attempts, given up/)
  // Its job (a fake's) wrote no folder: none of its payloads, as status says too.
  t.match(text, /66507\s+\S+\s+done, not in the CDB, incomplete\s+job \S+ finished at .* over a day ago; .*; genStatus wrote no CEMC_BadTowerMap/)
  t.match(text, /4\s*current in the CDB/, '66504 reached the CDB')
  t.equal(await visit.page.locator('#runs-table tbody tr').count(), RUNS)
  const shapes = await plotShapes(visit)
  for (const plot of shapes) t.ok(plot.width > 100 && plot.height > 50 && plot.marks > 0, `${plot.id}: ${plot.marks} marks, ${plot.width}×${plot.height}`)
  const nights = await visit.page.locator('#plot-nights svg[class^="plot"] g[aria-label="bar"] rect').count()
  t.ok(nights >= 4, `three nights stacked by outcome: ${nights} bars`)
  t.match(await visit.page.innerText('#plot-nights'), /in the CDB/, 'the legend names the outcomes')

  const again = await report(out.output, out.env)
  t.equal(again.code, 0)
  const page = readFileSync(join(out.output, 'report.html'), 'utf8')
  const second = await report(out.output, out.env)
  t.equal(second.code, 0)
  const madeAt = (html: string) => html.replace(/made at \d{4}-\d\d-\d\d \d\d:\d\d UTC/g, 'made at …')
  t.equal(madeAt(readFileSync(join(out.output, 'report.html'), 'utf8')), madeAt(page), 'the same page but for the time it was made')
})

t.test('a brand-new output directory: the page says there is nothing yet', async (t) => {
  const output = join(t.testdir(), 'new')
  mkdirSync(output) // made by hand (a directory that does not exist is refused: test/faults/bad-input.test.ts)
  const result = await runStageHere('report', ['--output', output], { PATH: `${join(ROOT, 'test', 'fakes')}:${process.env.PATH}`, FAKE_CONDOR_STATE: join(output, '..', 'q.json') })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /^report: 0 runs; 0 need a person; /)
  const visit = await load(t, output, 'brand-new')
  t.match(await visit.page.innerText('#nothing-yet'), /Nothing yet\. There is no run list \(run3auau\.csv\)/)
  t.same(readdirSync(output).sort(), ['log', 'report.html'], 'nothing written but the page and the log')
})

