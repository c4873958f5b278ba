// The example scripts of README.md's "Scripting caloprod", run as a person runs them, so they never rot.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'

const run = promisify(execFile)
const ROOT = new URL('..', import.meta.url).pathname

t.test('examples/run-files.ts: the files of one run, and whether each is on disk', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const file = (segment: number) => join(root, `seg${segment}.root`)
  writeFileSync(file(0), 'root file')
  writeFileSync(file(1), '')
  const row = (runnumber: number, segment: number) => ({ runnumber, tag: 'v1', segment, events: 10, full_file_path: file(segment), time: '2025-01-01 00:00:00' })
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, [row(66500, 0), row(66500, 1), row(66500, 2), row(66501, 0)]))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'run-files.ts'), output, '66500'], { cwd: ROOT })
  t.equal(stdout, `v1 0 ${file(0)} 9 bytes\nv1 1 ${file(1)} empty\nv1 2 ${file(2)} absent\n`)
})
