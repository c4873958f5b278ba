// Preloaded by bench/campaign.ts (by hand: `node -r ./bench/own-peak.cjs …` from the project root; a bare `bench/…`
// is taken for a package): at exit, writes this process's own peak resident set (kB, getrusage's ru_maxrss) to the
// file CALOPROD_BENCH_OWN_PEAK names, the larger when it already holds one (a stage that starts itself again,
// tasks/main.ts). GNU time's %M is the largest of the process and every child it waited for, and at thousands of
// jobs the fake condor_q and condor_submit are larger than the stage that runs them.
'use strict'
const { readFileSync, writeFileSync } = require('node:fs')

const file = process.env.CALOPROD_BENCH_OWN_PEAK
if (file) {
  process.on('exit', () => {
    let before = 0
    try {
      before = Number(readFileSync(file, 'utf8')) || 0
    } catch {}
    writeFileSync(file, String(Math.max(before, process.resourceUsage().maxRSS)))
  })
}
