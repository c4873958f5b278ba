// A campaign night's stories as data (lib/report/stories.ts) and the page's one script that draws them: a story back
// from the data is its lines as `visibleLine` shows them, and text from outside in it (a hold reason carrying
// `</script>` and markup) cannot end the data's block nor become markup when drawn, in headless Chromium.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { pagePolicy, storySections } from '../../lib/report/page.js'
import { packStories, sharedLinesOnce, storyData, storyDataParts, unpackStory } from '../../lib/report/stories.js'
import { visibleLine } from '../../lib/visible.js'
import { startBrowser, visitFile } from '../helpers/browser.js'

t.setTimeout(300_000)

/** Each handler, should it run, sets the title and calls a function no page has: an error Chromium reports. */
const run = (name: string) => `document.title='${name}';${name}()`
const HOLD = `Error from slot1@wn: </script><script>${run('script')}</script><!-- <img src=x onerror="${run('hold')}"> \u202eevil.sh`

const stories = new Map<number, string[]>([
  [68001, ['run 68001 (run3auau, rule set seed)', `  scheduler now: held: ${HOLD}`, '  lists: /sphenix/68001/680012.root, run 168001']],
  [68002, ['run 68002 (run3auau, rule set seed)', '  scheduler now: queued: job 1.1', '  lists: /sphenix/68001/680012.root, run 168001']],
])
const told = (run: number) => stories.get(run)!.map(visibleLine).join('\n')

t.test('a story back from the data is its lines as visibleLine shows them; the data holds no `<`', async (t) => {
  const packed = packStories(stories)
  for (const story of packed.runs) t.equal(unpackStory(packed, story), told(story[0]!), `run ${story[0]}`)
  t.equal(packed.lines.length, 5, 'a line the stories share is written once, the run\'s number in it a placeholder')
  const data = storyData(packed)
  t.notOk(data.includes('<'), 'nothing in the data can end its block or start markup')
  t.same(JSON.parse(data), packed, 'JSON.parse reads it back as it was')
  t.equal([...storyDataParts(stories)].join(''), data, 'the same data made in parts, story by story')
})

t.test('drawn by the page\'s script: the hold reason as text, nothing run, nothing else allowed to run', async (t) => {
  const page = join(t.testdir(), 'page.html')
  writeFileSync(page, [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${pagePolicy(true)}"><title>stories</title></head><body>`,
    '<a id="first" href="#run-68001">68001</a> <a id="second" href="#run-68002">68002</a>',
    [...storySections(stories, { asData: true })].join(''),
    `<script>${run('slipped')}</script>`,
    '</body></html>',
  ].join('\n'))
  const browser = await startBrowser()
  t.teardown(() => browser.close())
  const visit = await visitFile(browser, page)
  t.equal(await visit.page.locator('section.story').count(), 0, 'no story drawn before one is opened')
  await visit.page.click('#first')
  const story = await visit.page.waitForSelector('section.story:target')
  t.equal(await story.textContent(), told(68001), 'the story, its hold reason as text')
  t.equal(await visit.page.locator('img, section.story script').count(), 0, 'no element from the story')
  await visit.page.click('#second')
  await visit.page.waitForFunction(() => document.querySelector('section.story:target')?.id === 'run-68002')
  t.equal(await visit.page.$eval('#run-68002', (section) => section.textContent), told(68002), 'another')
  t.equal(await visit.page.title(), 'stories', 'no handler set the title')
  t.ok(visit.consoleErrors.length === 1 && /^Executing inline script violates .*Content Security Policy/.test(visit.consoleErrors[0]!),
    `only the page's own script ran: ${visit.consoleErrors.join('; ')}`)
})

t.test('up to the limit, the stories are sections and the page needs no script', async (t) => {
  const html = [...storySections(stories)].join('')
  t.notMatch(html, /<script/)
  t.match(html, /<section class="story" id="run-68001"><pre>run 68001 [^<]*held: Error from slot1@wn: &lt;\/script&gt;&lt;script&gt;/)
  t.notMatch(pagePolicy(false), /script-src/, 'and its policy lets none run')
})

t.test('kept as the data holds them while told, in any order, the stories are the same data, byte for byte', async (t) => {
  // The report keeps a campaign night's stories so as each is told (the order they finish in, not the runs'), then
  // packs them in the runs' order: the data must be what packing their own lines makes.
  const once = sharedLinesOnce()
  const keptBackwards = new Map([...stories].reverse().map(([run, lines]) => [run, once(run, lines)] as const))
  const kept = new Map([...stories.keys()].map((run) => [run, keptBackwards.get(run)!]))
  t.same(packStories(kept, true), packStories(stories))
  t.equal([...storySections(kept, { asData: true, shared: true })].join(''), [...storySections(stories, { asData: true })].join(''), 'the same sections of the page')
})
