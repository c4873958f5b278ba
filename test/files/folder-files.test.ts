import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { folderFiles, newestOf } from '../../lib/files/folder-files.js'
import { absentFrom } from '../../lib/upload/payload-files.js'

t.test('folderFiles: the regular files of a folder (a link followed) with their mtimes; none for no folder', async (t) => {
  const dir = t.testdir()
  const at = (seconds: number) => new Date(seconds * 1000)
  writeFileSync(join(dir, 'a.root'), 'x')
  utimesSync(join(dir, 'a.root'), at(100), at(100))
  writeFileSync(join(dir, 'b.root'), 'y')
  utimesSync(join(dir, 'b.root'), at(200), at(200))
  symlinkSync(join(dir, 'a.root'), join(dir, 'link.root'))
  symlinkSync(join(dir, 'nowhere'), join(dir, 'broken.root'))
  mkdirSync(join(dir, 'sub.root'))
  execFileSync('mkfifo', [join(dir, 'fifo.root')])
  const files = await folderFiles(dir)
  t.same([...files!].sort(), [['a.root', 100_000], ['b.root', 200_000], ['link.root', 100_000]])
  t.equal(newestOf(files), 200_000)
  t.equal(await folderFiles(join(dir, 'absent')), undefined)
  t.equal(newestOf(undefined), undefined)
  t.equal(newestOf(new Map()), undefined)
})

t.test('absentFrom: the payload types without a file of their name; all of them without a folder', async (t) => {
  const types = ['CEMC_meanTime', 'HCALIN_meanTime'] as const
  const name = 'CEMC_meanTime_new_newcdbtag_v008_66500.root'
  t.same(absentFrom(new Map([[name, 1]]), 66500, 'new_newcdbtag_v008', types), ['HCALIN_meanTime'])
  t.same(absentFrom(undefined, 66500, 'new_newcdbtag_v008', types), types)
})
