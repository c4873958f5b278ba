// Observable Plot and d3 from the one-file builds their packages publish (the `umd` entry of each package.json's
// `exports`): the same version's code as their ES modules, which are 116 files (Plot's 81, d3 and its packages the
// rest), each resolved and loaded on its own. Read as plain files here, they do not pass through tsx at all. Measured
// on the bench output under tsx's ES-module loader: the report took about 0.6 s less CPU and 7 MB less memory
// (docs/speed.md). test/report/plot-umd.test.ts draws the page's marks with both.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { compileFunction } from 'node:vm'
import type * as PlotModule from '@observablehq/plot'

/**
 * The file `name`'s package.json names as its `umd` export, from the nearest package.json above its entry, found as
 * `require` finds it: under tsx's CommonJS hooks (tasks/start.cjs) there is no `import.meta.resolve`.
 */
export function umdFile(name: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    let pkg: { name?: string; exports?: { umd?: string } }
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    } catch {
      continue
    }
    if (pkg.name !== name) continue
    if (!pkg.exports?.umd) throw new Error(`${join(dir, 'package.json')} exports no umd build`)
    return join(dir, pkg.exports.umd)
  }
  throw new Error(`no package.json of ${name} above its entry`)
}

/** Runs a UMD build as CommonJS would, in this realm; `require` answers its imports, anything else is an error. */
function loadUmd(file: string, require: (name: string) => unknown = (name) => {
  throw new Error(`${file} imports ${name}`)
}): unknown {
  const module = { exports: {} }
  compileFunction(readFileSync(file, 'utf8'), ['exports', 'module', 'require'], { filename: file })(module.exports, module, require)
  return module.exports
}

/**
 * Observable Plot and the d3 it imports, loaded now (each call loads them again: lib/report/plots.ts loads them once,
 * when a page is to be drawn). Plot's build imports d3 by a versioned CDN name (`d3@7.9.0/dist/d3.min.js`): it gets
 * the d3 installed here.
 */
export function loadObservablePlot(): typeof PlotModule {
  const d3 = loadUmd(umdFile('d3'))
  return loadUmd(umdFile('@observablehq/plot'), (name) => {
    if (/^d3(@|\/|$)/.test(name)) return d3
    throw new Error(`@observablehq/plot's build imports ${name}`)
  }) as typeof PlotModule
}
