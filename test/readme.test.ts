// The README and docs/ as a clone sees them: the README stays short and starts with the two commands a newcomer
// runs, and every relative link in it and in docs/*.md names a file (and a heading) of this repository, never
// one outside it; nor does any path they quote (a clone has no ../shared/).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = join(root, 'README.md')
const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(root, 'docs', name))

/** The README's length limit: about 200 lines, with some room. */
export const README_MAX_LINES = 220

/** The text outside fenced code blocks, with inline code blanked: links are read only there. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '``')
}

/** The fenced code blocks, in order, without their fences. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((match) => match[1])
}

/** Every link target of a Markdown text: inline `[text](target)` and reference definitions `[name]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1])
  const defined = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((match) => match[1])
  return [...inline, ...defined]
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

/** The anchors of a Markdown file's headings (a repeated heading gets -1, -2, ... as on GitHub). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1].replace(/``/g, ''))
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

/** What is wrong with each relative link of the file at `path` (whose text is `markdown`), one line each. */
function brokenLinks(path: string, markdown: string): string[] {
  const problems: string[] = []
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto:: not a file of the repository
    const [file, anchor] = target.split('#', 2)
    const resolved = file === '' ? path : resolve(dirname(path), decodeURIComponent(file))
    const inside = relative(root, resolved)
    if (file.split('/').includes('..') || inside.startsWith('..')) {
      problems.push(`${target}: leaves ${relative(root, dirname(path)) || 'the root'} (a clone has nothing outside the repository)`)
    } else if (!existsSync(resolved)) {
      problems.push(`${target}: no such file ${inside}`)
    } else if (anchor !== undefined && resolved.endsWith('.md')) {
      const headings = anchors(file === '' ? markdown : readFileSync(resolved, 'utf8'))
      if (!headings.has(anchor)) problems.push(`${target}: ${inside} has no heading #${anchor}`)
    }
  }
  return problems
}

/** The inline code spans that name a path above the file's folder (`../shared/DESIGN.md`): a clone has none. */
function pathsOutside(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  return [...text.matchAll(/`(\.\.\/[^`\n]*)`/g)].map((match) => match[1])
}

t.test('the link checker finds what it is meant to find', async (t) => {
  const sample = [
    '[design](docs/design.md) [rules](docs/design.md#rules) [out](../shared/DESIGN.md) [gone](docs/nope.md)',
    '[deep](docs/../../x.md) [anchor](docs/design.md#no-such-heading) [web](https://taskfile.dev) [here](#the-two)',
    '`[code](../in/code.md)`',
    '```sh',
    '[block](../in/block.md)',
    '```',
    '[ref]: ../shared/seed/',
    '## The two',
  ].join('\n')
  const problems = brokenLinks(readme, sample)
  t.same(problems.map((line) => line.split(':')[0]), [
    '../shared/DESIGN.md', 'docs/nope.md', 'docs/../../x.md', 'docs/design.md#no-such-heading', '../shared/seed/',
  ], problems.join('\n'))
  t.same(pathsOutside('see `../shared/DESIGN.md` and `--run-type ../x`\n```\n`../in/block`\n```'), ['../shared/DESIGN.md'])
  t.equal(slug('The programs around caloprod'), 'the-programs-around-caloprod')
  t.equal(slug("check's two CDB backends"), 'checks-two-cdb-backends')
})

t.test(`the README is at most ${README_MAX_LINES} lines`, async (t) => {
  const lines = readFileSync(readme, 'utf8').split('\n')
  if (lines.at(-1) === '') lines.pop()
  t.ok(lines.length <= README_MAX_LINES, `README.md has ${lines.length} lines`)
})

t.test('the README opens with exactly the two commands of a fresh clone', async (t) => {
  const text = readFileSync(readme, 'utf8')
  const [first] = codeBlocks(text)
  t.equal(first, 'npm ci && npm run demo\nnpm test\n', 'the first code block')
  const before = text.slice(0, text.indexOf('```')).split('\n').filter((line) => line.trim() !== '')
  t.same(before, ['# caloprod'], 'nothing but the title before it')
})

t.test('every relative link of README.md and docs/*.md names a file of the repository, and no path leaves it', async (t) => {
  t.ok(docs.length >= 4, `docs/ holds ${docs.map((path) => relative(root, path)).join(', ')}`)
  for (const path of [readme, ...docs]) {
    const text = readFileSync(path, 'utf8')
    t.same(brokenLinks(path, text), [], relative(root, path))
    t.same(pathsOutside(text), [], `${relative(root, path)} names no path outside the repository`)
  }
})

t.test('every script the README runs is a file of the repository', async (t) => {
  const commands = codeBlocks(readFileSync(readme, 'utf8')).join('\n')
  const scripts = [...commands.matchAll(/\bnpx tsx ((?:tasks|examples|bench)\/[\w./-]+\.ts)\b/g)].map((match) => match[1])
  t.ok(scripts.length >= 4, `the README runs ${scripts.join(', ')}`)
  for (const script of scripts) t.ok(existsSync(join(root, script)), script)
})

t.test('docs/ is reachable from the README', async (t) => {
  const linked = new Set(linkTargets(readFileSync(readme, 'utf8')).map((target) => resolve(root, target.split('#')[0])))
  for (const path of docs) t.ok(linked.has(path), `README.md links ${relative(root, path)}`)
})

t.test("docs/development.md's map of lib/ follows the tree: every entry of lib/ is on it, and every name on it is a file", async (t) => {
  const text = readFileSync(join(root, 'docs', 'development.md'), 'utf8')
  const map = text.slice(text.indexOf('## The map of `lib/`'), text.indexOf('\n## ', text.indexOf('## The map of `lib/`') + 1))
  const named = new Set([...map.matchAll(/`([\w.-]+(?:\/[\w.-]+)*\/?)`/g)].map((match) => match[1]))
  const everything = readdirSync(join(root, 'lib'), { recursive: true, encoding: 'utf8' })
  for (const entry of readdirSync(join(root, 'lib'), { withFileTypes: true })) {
    const name = entry.isDirectory() ? `${entry.name}/` : entry.name
    t.ok(named.has(name), `the map names lib/${name}`)
  }
  for (const name of named) {
    if (!/\.(ts|sh)$|\/$/.test(name) || name === 'lib/' || /^(tasks|test)\//.test(name)) continue
    const clean = name.replace(/\/$/, '')
    t.ok(everything.some((path) => path === clean || path.endsWith(`/${clean}`)), `lib/ holds the map's ${name}`)
  }
})
