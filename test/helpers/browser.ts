// Debian's chromium driven by playwright-core (which never downloads a browser of its own), with the flags this
// machine needs and a fresh profile per launch.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface Browser {
  context: BrowserContext
  /** The --user-data-dir, which names this browser's processes (bench/page.ts finds its renderers by it). */
  profile: string
  close(): Promise<void>
}

/** Starts chromium with a fresh --user-data-dir, removed on close. */
export async function startBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'caloprod-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1100, height: 900 } })
  return {
    context,
    profile,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** What a page did while loading: console errors, uncaught errors, and every request that left file://. */
export interface PageVisit {
  page: Page
  consoleErrors: string[]
  requestsOutsideFile: string[]
  /** Milliseconds from navigation to the page being interactive (DOMContentLoaded's end) and loaded. */
  interactiveMs: number
  loadMs: number
}

/** Opens a file as a person would, from file://, recording what it did. */
export async function visitFile(browser: Browser, path: string): Promise<PageVisit> {
  const page = await browser.context.newPage()
  const consoleErrors: string[] = []
  const requestsOutsideFile: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text())
  })
  page.on('pageerror', (err) => consoleErrors.push(err.message))
  page.on('request', (request) => {
    if (!request.url().startsWith('file://')) requestsOutsideFile.push(request.url())
  })
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' })
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
    return { interactive: nav.domContentLoadedEventEnd, load: nav.loadEventEnd }
  })
  return { page, consoleErrors, requestsOutsideFile, interactiveMs: timing.interactive, loadMs: timing.load }
}
