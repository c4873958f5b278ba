// The stories of the runs to process on the page: data, not markup, drawn only when a person opens one. A campaign
// night has thousands of runs to process, and their stories drawn as sections made the page 14.6 MB and 4 to 17 s
// from interactive at 12,000 runs (docs/speed.md, "A campaign night"). Here each distinct line is written once, the
// run's number in it a placeholder, and each story is its run and the numbers of its lines: one JSON block that
// the browser's parser passes over as text. The page's one script of its own (STORY_SCRIPT, allowed by its hash in
// the page's Content-Security-Policy, nothing else) draws a story as `<section class="story" id="run-<run>">`, its
// text set as text, when its link is clicked, when `#run-<run>` is the page's address, or every story when asked.
import { createHash } from 'node:crypto'
import { visibleLine } from '../visible.js'

/**
 * Stands for the run's number in a line. `visibleLine` writes every C0 control as its escape (the six characters
 * `\u0001`), so no line holds one.
 */
const RUN = '\u0001'

/** What the page carries of the stories: each distinct line once, and each story as [run, its lines' numbers…]. */
export interface PackedStories {
  lines: string[]
  runs: number[][]
}

/** A story's lines as the data holds them: each as `visibleLine` shows it, the run's number in it RUN. */
export function sharedLines(run: number, told: readonly string[]): string[] {
  const number = new RegExp(`\\b${run}\\b`, 'g')
  return told.map((line) => visibleLine(line).replace(number, RUN))
}

/**
 * sharedLines with every distinct line one string, for each story as it is told: a campaign night's report keeps
 * its 12,000 stories so (eight distinct lines) instead of each story's own lines (22 MB).
 */
export function sharedLinesOnce(): (run: number, told: readonly string[]) => string[] {
  const seen = new Map<string, string>()
  return (run, told) => sharedLines(run, told).map((line) => {
    const known = seen.get(line)
    if (known !== undefined) return known
    seen.set(line, line)
    return line
  })
}

type Stories = ReadonlyMap<number, readonly string[]>

/** Each distinct line of the stories (as the data holds it), in the order first told, and its number. */
function lineNumbers(stories: Stories, shared: boolean): Map<string, number> {
  const index = new Map<string, number>()
  for (const [run, told] of stories) {
    for (const line of shared ? told : sharedLines(run, told)) if (!index.has(line)) index.set(line, index.size)
  }
  return index
}

/** A story as the data holds it: its run, then its lines' numbers. */
const storyNumbers = (run: number, told: readonly string[], index: ReadonlyMap<string, number>, shared: boolean) =>
  [run, ...(shared ? told : sharedLines(run, told)).map((line) => index.get(line)!)]

/**
 * The stories as data, in their order; each line as `visibleLine` shows it. `shared`: the stories' lines are
 * sharedLines already.
 */
export function packStories(stories: Stories, shared = false): PackedStories {
  const index = lineNumbers(stories, shared)
  return { lines: [...index.keys()], runs: [...stories].map(([run, told]) => storyNumbers(run, told, index, shared)) }
}

/** A story back from the data, as the page's script draws it (the tests read a page's stories with it). */
export function unpackStory(packed: PackedStories, story: readonly number[]): string {
  const [run, ...at] = story
  return at.map((i) => packed.lines[i]!.split(RUN).join(String(run))).join('\n')
}

/**
 * JSON inside `<script type="application/json">`: every `<` written `\u003c`, so no text in it (a hold reason's
 * `</script>`, a `<!--`) can end the block or start markup. JSON.parse reads it back as it was.
 */
export const storyData = (packed: PackedStories): string => noMarkup(JSON.stringify(packed))

const noMarkup = (json: string) => json.replace(/</g, '\\u003c')

/**
 * storyData(packStories(stories, shared)) in parts, each story's numbers made as it is written: a campaign night's
 * 12,000 stories are never one array of arrays, nor one string.
 */
export function* storyDataParts(stories: Stories, shared = false): Generator<string> {
  const index = lineNumbers(stories, shared)
  yield `{"lines":${noMarkup(JSON.stringify([...index.keys()]))},"runs":[`
  let comma = ''
  for (const [run, told] of stories) {
    yield `${comma}${JSON.stringify(storyNumbers(run, told, index, shared))}`
    comma = ','
  }
  yield ']}'
}

/**
 * Draws a story when its link is clicked (before the browser follows it, so the link lands on the section and the
 * section is `:target`), when the address names it (opened as `report.html#run-66506`, or the back button), and
 * every story for `#every-story`. The data is parsed when first needed, not while the page loads. The text is set
 * as text: nothing in a story becomes markup. Plain JavaScript in a string, not a function's source (which tsx
 * rewrites); the policy's hash is of these very bytes.
 */
export const STORY_SCRIPT = [
  '(function () {',
  '  var data, byRun, list = document.getElementById("every-story")',
  '  function read() {',
  '    if (!data) {',
  '      data = JSON.parse(document.getElementById("story-data").textContent)',
  '      byRun = {}',
  '      data.runs.forEach(function (story) { byRun[story[0]] = story })',
  '    }',
  '  }',
  '  function draw(story) {',
  '    var section = document.createElement("section"), pre = document.createElement("pre")',
  '    section.className = "story"',
  '    section.id = "run-" + story[0]',
  '    pre.textContent = story.slice(1).map(function (i) { return data.lines[i].split("\\u0001").join(String(story[0])) }).join("\\n")',
  '    section.appendChild(pre)',
  '    list.appendChild(section)',
  '  }',
  '  // Draws what `hash` names, if not drawn yet; true when it drew something.',
  '  function open(hash) {',
  '    if (hash === "#every-story") {',
  '      if (list.hasAttribute("data-every")) return false',
  '      read()',
  '      list.textContent = ""',
  '      data.runs.forEach(draw)',
  '      list.setAttribute("data-every", "")',
  '      return true',
  '    }',
  '    var run = /^#run-(\\d+)$/.exec(hash)',
  '    if (!run || document.getElementById("run-" + run[1])) return false',
  '    read()',
  '    if (!byRun[run[1]]) return false',
  '    draw(byRun[run[1]])',
  '    return true',
  '  }',
  '  document.addEventListener("click", function (event) {',
  '    var link = event.target.closest && event.target.closest("a[href^=\\"#\\"]")',
  '    if (link) open(link.getAttribute("href"))',
  '  })',
  '  // Drawn after the browser looked for it: go to it again, now that it is there.',
  '  window.addEventListener("hashchange", function () { if (open(location.hash)) location.replace(location.hash) })',
  '  if (open(location.hash)) location.replace(location.hash)',
  '})()',
].join('\n')

/** The CSP source that lets STORY_SCRIPT run and no other script. */
export const STORY_SCRIPT_SOURCE = `'sha256-${createHash('sha256').update(STORY_SCRIPT).digest('base64')}'`
