// The stories a written page carries (lib/report/stories.ts), read from its HTML as its script draws them, by run: for
// the tests that read the page as text rather than in a browser.
import { type PackedStories, unpackStory } from '../../lib/report/stories.js'

export function pageStories(html: string): Map<number, string> {
  const block = /<script type="application\/json" id="story-data">([^]*?)<\/script>/.exec(html)
  if (!block) return new Map()
  const packed = JSON.parse(block[1]!) as PackedStories
  return new Map(packed.runs.map((story) => [story[0]!, unpackStory(packed, story)]))
}
