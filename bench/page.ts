#!/usr/bin/env -S npx tsx
// A written page in headless Chromium, as a person opens it from file://: its size, how soon it is interactive
// (DOMContentLoaded's end) and loaded (the load event's end, which on a long page waits for the layout of what was
// parsed), and the peak memory (VmHWM) of the renderer that drew it; each page in a browser of its own, one warm-up
// then --repeat visits, the median and the range. With --open RUN, also how long the story of that run takes to show
// once its link is clicked (until the next frame). Not a test: times depend on the machine.
//
//   npx tsx bench/page.ts [--repeat 3] [--open 66500] report.html [other.html …]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { startBrowser, visitFile } from '../test/helpers/browser.js'
import { benchArgs } from './args.js'

const args = benchArgs('page', 'Usage: npx tsx bench/page.ts [--repeat 3] [--open 66500] report.html [other.html …]', { string: ['repeat', 'open'], default: { repeat: '3' }, positionals: true })
if (!args._.length) {
  process.stderr.write('bench page: name the page files to open, e.g. report.html (--help)\n')
  process.exit(2)
}
const REPEAT = Number(args.repeat)
/**
 * Clicks the run's link in the page once it has drawn itself, and measures until the next frame after it: the
 * story drawn and scrolled to. A string, so that tsx leaves the code as it is (its helpers are not in the page).
 */
const opening = (run: string) => `(async () => {
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))
  await frame()
  const started = performance.now()
  document.querySelector('a[href="#run-${run}"]').click()
  await frame()
  if (!document.getElementById('run-${run}').textContent.includes('next:')) throw new Error('no story of run ${run}')
  return performance.now() - started
})()`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The largest VmHWM, in MB, of the renderer processes of the browser whose profile is `profile`. */
function rendererPeakMb(profile: string): number {
  let peak = 0
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (!cmdline.includes('--type=renderer') || !cmdline.includes(profile)) continue
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
      peak = Math.max(peak, kb / 1024)
    } catch {
      // The process ended while it was read.
    }
  }
  return peak
}

const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
const rows: string[] = []
for (const file of args._.map(String)) {
  const interactive: number[] = []
  const loaded: number[] = []
  const memory: number[] = []
  const opened: number[] = []
  for (let i = 0; i <= REPEAT; i++) {
    const browser = await startBrowser()
    try {
      const visit = await visitFile(browser, file)
      if (visit.consoleErrors.length) throw new Error(`${file}: ${visit.consoleErrors.join('; ')}`)
      const openMs = args.open ? Number(await visit.page.evaluate(opening(String(args.open)))) : NaN
      if (i > 0) {
        interactive.push(visit.interactiveMs)
        loaded.push(visit.loadMs)
        memory.push(rendererPeakMb(browser.profile))
        opened.push(openMs)
      }
    } finally {
      await browser.close()
    }
  }
  const range = (xs: number[], digits = 0) =>
    `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)} to ${Math.max(...xs).toFixed(digits)})`
  rows.push(`| ${file} | ${(statSync(file).size / 1e6).toFixed(2)} | ${range(interactive)} | ${range(loaded)} | ${range(memory)} |` +
    (args.open ? ` ${range(opened)} |` : ''))
  process.stderr.write(`bench page: ${rows.at(-1)}\n`)
}
const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
process.stdout.write(`load average before: ${loadBefore}, after: ${loadAfter}\n\n` +
  `| page | MB | interactive ms, median of ${REPEAT} (range) | loaded ms | renderer peak RSS MB |${args.open ? ' story shown after a click, ms |' : ''}\n` +
  `| --- | ---: | ---: | ---: | ---: |${args.open ? ' ---: |' : ''}\n${rows.join('\n')}\n`)
