#!/usr/bin/env node
// @ts-check
// build: bundles each script of tasks/ with the lib/ code it uses into .build/<name>.js (plain JavaScript, the
// npm packages left as imports), so the Taskfile starts a stage with `node` alone: tsx's loader costs about half a
// second and 30 MB per process, which is most of a quiet night. Plain JavaScript itself, so it runs before
// anything is built. A bundle whose bytes did not change is not rewritten; a changed one is written beside it and
// renamed into place (lib/files/atomic.ts, the one atomic writer), so a stage never starts from half a file.
import { readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, '.build')
const entries = readdirSync(join(root, 'tasks'))
  .filter((name) => name.endsWith('.ts') && name !== 'main.ts' && name !== 'demo.ts')
  .map((name) => join(root, 'tasks', name))

/**
 * lib/files/atomic.ts, which is TypeScript: nothing is built yet when this script runs, so esbuild bundles it in
 * memory and it is imported from that text.
 * @returns {Promise<typeof import('../lib/files/atomic.ts')>}
 */
async function loadAtomicWriter() {
  const result = await build({
    entryPoints: [join(root, 'lib', 'files', 'atomic.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  })
  return import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].contents).toString('base64')}`)
}

/** Bundles every entry in memory, then writes the bundles that changed; returns how many it wrote. */
async function bundle() {
  const result = await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  })
  await mkdir(outdir, { recursive: true })
  const { writeFileIfChanged } = await loadAtomicWriter()
  let written = 0
  for (const file of result.outputFiles) {
    if (await writeFileIfChanged(file.path, Buffer.from(file.contents))) written++
  }
  return { bundles: result.outputFiles.length, written }
}

try {
  const { bundles, written } = await bundle()
  if (process.argv.includes('--verbose')) process.stderr.write(`build: ${bundles} bundles in .build/, ${written} rewritten\n`)
} catch (err) {
  // esbuild's message names the file and line of a syntax error; its first line is enough for cron.
  process.stderr.write(`caloprod build: ${String(err instanceof Error ? err.message : err).split('\n')[0]}\n`)
  process.exitCode = 1
}
