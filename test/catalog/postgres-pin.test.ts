// lib/catalog/query-files.ts works around two bugs of postgres.js 3.4 through its internals (the COPY stream's
// read hook, the query's resolve), and tasks/main.ts drops one stray TypeError of its connection.js. That is
// only safe on the version those workarounds were written against: package.json pins it exactly, and this test
// fails as soon as another version is installed or the code the workarounds lean on is not there as expected,
// so an upgrade is a decision, made by reading what changed, never a side effect of `npm install`.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ROOT } from '../helpers/run-script.js'

const PINNED = '3.4.9'
// The ESM entry, src/index.js: the code the stages bundle and run.
const src = dirname(fileURLToPath(import.meta.resolve('postgres')))
const source = (name: string) => readFileSync(join(src, name), 'utf8')

t.test(`postgres.js is pinned to ${PINNED}, the version the workarounds were written for`, async (t) => {
  const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  t.equal(project.dependencies.postgres, PINNED, 'package.json names the exact version, no range')
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> }
  t.equal(lock.packages[''].dependencies?.postgres, PINNED, 'package-lock.json asks for it')
  t.equal(lock.packages['node_modules/postgres'].version, PINNED, 'package-lock.json resolves it')
  const installed = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as { version: string }
  t.equal(installed.version, PINNED, 'node_modules')
})

t.test('the internals the workarounds patch are as query-files.ts and known-bugs.ts expect', async (t) => {
  const connection = source('connection.js')
  // porsager/postgres#499: a CopyData the stream cannot take pauses the socket; only the stream's read resumes it.
  t.match(connection, /function CopyOutResponse\(\) \{\s+stream = new Stream\.Readable\(\{\s+read\(\) \{ socket\.resume\(\) \}\s+\}\)\s+query\.resolve\(stream\)/, 'CopyOutResponse: read() resumes the socket, the stream goes to query.resolve')
  t.match(connection, /function CopyData\(x\) \{\s+stream && \(stream\.push\(x\.subarray\(5\)\) \|\| socket\.pause\(\)\)/, 'CopyData pauses the socket when the stream is full')
  // The query's resolve is an own, replaceable property: the hook that listens for an early error goes there.
  t.match(source('query.js'), /this\.resolve = x => \(this\.active = false, resolve\(x\)\)/, 'Query sets this.resolve')
  // known-bugs.ts: the stray TypeError is socket.write on a socket already set to null, thrown from connection.js.
  t.match(connection, /socket\.write\(/, 'connection.js writes through socket.write')
})
