// lib/files/process-list.ts: the one reader of <runtype>-process.csv that lists, condor, submit and status share.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { readProcessList, writeProcessList } from '../../lib/files/process-list.js'

t.test('columns a person adds are accepted in any place and passed on as column=value; empty ones say nothing', async (t) => {
  const path = join(t.testdir(), 'run3auau-process.csv')
  await writeFile(path, 'note,runnumber,tag,reason\n"rerun, asked by Joe",66500,v1,missing CEMC_meanTime\n,66501,v1,\n')
  t.same(await readProcessList(path), [
    { runnumber: 66500, tag: 'v1', missing: [], outdated: [], why: 'note=rerun, asked by Joe reason=missing CEMC_meanTime' },
    { runnumber: 66501, tag: 'v1', missing: [], outdated: [], why: '' },
  ])
})

t.test('the reasons: payload types missing and outdated, space-separated; a file of runnumber,tag only has none', async (t) => {
  const path = join(t.testdir(), 'run3auau-process.csv')
  const runs = [
    { runnumber: 66500, tag: 'v1', missing: ['CEMC_meanTime', 'HCALIN_meanTime'], outdated: [] },
    { runnumber: 66502, tag: 'v2', missing: [], outdated: ['CEMC_BadTowerMap'] },
  ]
  t.equal(await writeProcessList(path, runs), true)
  t.equal(await readFile(path, 'utf8'), 'runnumber,tag,missing,outdated\n66500,v1,CEMC_meanTime HCALIN_meanTime,\n66502,v2,,CEMC_BadTowerMap\n')
  t.same(await readProcessList(path), [
    { ...runs[0], why: 'missing=CEMC_meanTime HCALIN_meanTime' },
    { ...runs[1], why: 'outdated=CEMC_BadTowerMap' },
  ])
  await writeFile(path, 'runnumber,tag\n66500,v1\n')
  t.same(await readProcessList(path), [{ runnumber: 66500, tag: 'v1', missing: [], outdated: [], why: '' }], 'the old two-column file')
})

t.test('what the check stage writes: runnumber,tag and the reasons; the columns a person added are gone', async (t) => {
  const path = join(t.testdir(), 'run3auau-process.csv')
  t.equal(await writeProcessList(path, [{ runnumber: 66500, tag: 'v1' }, { runnumber: 66502, tag: 'v2' }]), true)
  t.equal(await readFile(path, 'utf8'), 'runnumber,tag,missing,outdated\n66500,v1,,\n66502,v2,,\n')
  t.equal(await writeProcessList(path, [{ runnumber: 66500, tag: 'v1' }, { runnumber: 66502, tag: 'v2' }]), false, 'unchanged: not rewritten')
})

t.test('refused, naming the file and line: a missing column, a duplicate column or run, a bad tag, no file', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'p.csv')
  const cases: [string, RegExp][] = [
    ['runnumber,note\n66500,x\n', /p\.csv:1: header is "runnumber,note", expected at least the columns runnumber,tag/],
    ['runnumber,tag,tag\n66500,v1,v2\n', /p\.csv:1: header is "runnumber,tag,tag"/],
    ['runnumber,tag\n66500,v1\n66500,v1\n', /p\.csv:3: run 66500 appears twice/],
    ['runnumber,tag,note\n66500,a b,x\n', /p\.csv:2: tag "a b" may hold only/],
    ['runnumber,tag,note\n66500,v1\n', /p\.csv:2: has 2 fields, expected 3 \(runnumber,tag,note\)/],
  ]
  for (const [content, pattern] of cases) {
    await writeFile(path, content)
    await t.rejects(readProcessList(path), pattern, JSON.stringify(content))
  }
  await t.rejects(readProcessList(join(dir, 'none.csv')), /none\.csv: does not exist; run the check stage first/)
})
