// A quiet night: when nothing the selection reads changed, the query stage keeps query.csv without asking for the
// selection (lib/catalog/fingerprint.ts). Each change of what it reads, made alone, must make the next night ask.
import { mkdtempSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type postgres from 'postgres'
import { catalogTarget } from '../../lib/catalog/connection.js'
import { treeDigest } from '../../lib/catalog/fingerprint.js'
import { runQuery } from '../../lib/query.js'
import { BUILTIN_RULES } from '../../lib/rules/load.js'
import { makeCatalog } from '../helpers/catalog.js'
import { freshDatabase, usingServer } from '../helpers/database.js'
import { runStageHere } from '../helpers/run-script.js'

const QUIET = /query\.csv unchanged \(catalog unchanged, not asked again\)/

t.test('every change of what the selection reads makes the next night ask; nothing else does', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await makeCatalog(sql, [
    { run: 66500, tag: 'v1', segment: 0, events: 400000 },
    { run: 66500, tag: 'v1', segment: 1, events: 300000 },
    { run: 66500, tag: 'v1', segment: 0, dsttype: 'HIST_CALOFITTINGQA' },
    { run: 66500, tag: 'v2', segment: 0, events: 10, time: '2025-07-02 00:00:00' },
    { run: 66501, tag: 'v1', segment: 0, events: 900000 },
    // Outside run3auau's range: read by nothing until it moves in.
    { run: 53000, tag: 'v1', segment: 0, events: 900000 },
  ])
  const output = t.testdir()
  const csv = join(output, 'query.csv')
  const night = async (...args: string[]) => {
    const result = await runStageHere('query', ['--rules', 'current', '--db-url', url, '--output', output, ...args])
    t.equal(result.code, 0, result.stderr)
    return result.stdout
  }
  t.notMatch(await night(), QUIET, 'the first night asks')
  const { mtimeMs } = await stat(csv)
  t.match(await night(), QUIET, 'an unchanged catalog is not asked again')
  t.equal((await stat(csv)).mtimeMs, mtimeMs, 'query.csv is left alone')

  const changes: [string, (sql: postgres.Sql) => Promise<unknown>][] = [
    ['a files row inserted (a copy on another host)', (sql) => sql`insert into files select lfn, 'gpfs', '/gpfs/' || lfn, time, size, md5 from files where lfn like 'HIST\\_CALOQA%' limit 1`],
    ['a files row deleted', (sql) => sql`delete from files where full_host_name = 'gpfs'`],
    ['a file\'s time', (sql) => sql`update files set time = time + interval '1 second' where lfn like '%00066500-00001.root' and lfn like 'HIST%'`],
    ['a file\'s path', (sql) => sql`update files set full_file_path = full_file_path || '.moved' where lfn like 'HIST\\_CALOFITTINGQA%'`],
    ['a twin\'s events', (sql) => sql`update datasets set events = events + 1 where dsttype = 'DST_CALOFITTING' and runnumber = 66501`],
    ['a datasets row inserted (a new segment\'s histogram)', (sql) => sql`insert into datasets select replace(filename, '-00000.root', '-00002.root'), runnumber, 2, size, dataset, dsttype, events, firstevent, lastevent, tag, status from datasets where runnumber = 66501 and dsttype = 'HIST_CALOQA'`],
    ['a datasets row deleted (a twin)', (sql) => sql`delete from datasets where dsttype = 'DST_CALOFITTING' and runnumber = 66500 and segment = 1`],
    ['a new tag', (sql) => sql`insert into datasets select replace(filename, 'v1', 'v3'), runnumber, segment, size, dataset, dsttype, events, firstevent, lastevent, 'v3', status from datasets where runnumber = 66501 and dsttype = 'HIST_CALOQA' and segment = 0`],
    ['a tag changed', (sql) => sql`update datasets set tag = '' where tag = 'v3'`],
    ['a run moved into the range', (sql) => sql`update datasets set runnumber = 66999 where runnumber = 53000`],
    ['a segment number', (sql) => sql`update datasets set segment = 9999 where runnumber = 66999 and dsttype = 'HIST_CALOQA'`],
    ['a dataset type', (sql) => sql`update datasets set dsttype = 'HIST_CALOQASKIMMED' where runnumber = 66999 and dsttype = 'HIST_CALOQA'`],
    ['a datasets row\'s file name', (sql) => sql`update datasets set filename = filename || '.renamed' where runnumber = 66500 and tag = 'v2' and dsttype = 'HIST_CALOQA'`],
    // A NULL and the value that once stood in for it in the hash (-1, E'\x7f'): the selection tells them apart.
    ['a twin\'s events to NULL', (sql) => sql`update datasets set events = null where dsttype = 'DST_CALOFITTING' and runnumber = 66501 and segment = 0`],
    ['a twin\'s events from NULL to -1', (sql) => sql`update datasets set events = -1 where dsttype = 'DST_CALOFITTING' and runnumber = 66501 and segment = 0`],
    ['a segment to NULL', (sql) => sql`update datasets set segment = null where dsttype = 'HIST_CALOQA' and runnumber = 66501 and tag = 'v1' and segment = 0`],
    ['a segment from NULL to -1', (sql) => sql`update datasets set segment = -1 where dsttype = 'HIST_CALOQA' and runnumber = 66501 and tag = 'v1' and segment is null`],
    ['a tag to NULL', (sql) => sql`update datasets set tag = null where dsttype = 'HIST_CALOFITTINGQA' and runnumber = 66500`],
    ['a tag from NULL to chr(127)', (sql) => sql`update datasets set tag = chr(127) where dsttype = 'HIST_CALOFITTINGQA' and runnumber = 66500`],
  ]
  for (const [what, change] of changes) {
    const result = await change(sql)
    t.ok((result as unknown as { count: number }).count > 0, `${what}: the change touched a row`)
    t.notMatch(await night(), QUIET, `${what}: the next night asks`)
    t.match(await night(), QUIET, `${what}: the night after is quiet again`)
  }

  // A column's type changes the text query.csv gets, not the values hashed: the same epoch, the same unpadded text.
  const typeChanges: [string, string][] = [
    ['files.time from timestamp to timestamptz (written with +00)', `alter table files alter column time type timestamptz using time at time zone 'UTC'`],
    ['files.full_file_path to char(300) (written padded)', 'alter table files alter column full_file_path type char(300)'],
  ]
  for (const [what, ddl] of typeChanges) {
    await sql.unsafe(ddl)
    t.notMatch(await night(), QUIET, `${what}: the next night asks`)
    t.match(await night(), QUIET, `${what}: the night after is quiet again`)
  }
  await sql`alter table files alter column md5 type varchar(64)`
  t.match(await night(), QUIET, 'the type of a column the selection never reads changes nothing')

  await sql`insert into datasets select replace(filename, 'HIST_CALOQA', 'DST_CALO'), runnumber, segment, size, dataset, 'DST_CALO', events, firstevent, lastevent, tag, status from datasets where dsttype = 'HIST_CALOQA'`
  t.match(await night(), QUIET, 'a row of a type the selection never reads changes nothing')

  // Another caloprod (an upgrade, a fix in how rows are checked) wrote the stamp: the night asks.
  const stampPath = join(output, 'query.fingerprint')
  await writeFile(stampPath, JSON.stringify({ ...JSON.parse(await readFile(stampPath, 'utf8')), code: 'an older caloprod' }))
  t.notMatch(await night(), QUIET, 'a stamp of other code asks')
  t.match(await night(), QUIET, '... and the night after is quiet')

  t.notMatch(await night('--full-query'), QUIET, '--full-query asks')
  t.notMatch(await night('--min-events', '10'), QUIET, 'another threshold asks')
  t.match(await night('--min-events', '10'), QUIET, '... and is quiet the night after')
  t.notMatch(await night(), QUIET, 'back to no threshold asks')
  await writeFile(csv, 'runnumber,tag,segment,events,full_file_path,time\n')
  t.notMatch(await night(), QUIET, 'a query.csv changed by hand asks')

  // A histogram whose file name does not start with its type: its files row is outside what the fingerprint reads.
  await sql`update files set lfn = 'x-' || lfn where lfn like 'HIST\_CALOQA%00066501-00000.root'`
  await sql`update datasets set filename = 'x-' || filename where filename like 'HIST\_CALOQA%00066501-00000.root'`
  t.notMatch(await night(), QUIET, 'a file named otherwise asks')
  t.notMatch(await night(), QUIET, '... and asks every night while it is there')
})

t.test('the fingerprint and the query read one snapshot: a change made while a night runs, and undone before the next, is never kept',
  { skip: usingServer ? false : 'PGlite serves every connection from one session: a change from another waits for the stage\'s snapshot' },
  async (t) => {
    const { url, sql } = await freshDatabase(t)
    await makeCatalog(sql, [
      { run: 66500, tag: 'v1', segment: 0, events: 400000 },
      { run: 66500, tag: 'v1', segment: 1, events: 300000 },
      { run: 66501, tag: 'v1', segment: 0, events: 900000 },
    ])
    // A newer tag of run 66500 (under the current rules its QA file, the newest, wins the run), and its removal.
    const insert = async () => {
      await sql`insert into datasets select replace(filename, '_v1-', '_v9-'), runnumber, segment, size, dataset, dsttype, events, firstevent, lastevent, 'v9', status
                from datasets where runnumber = 66500 and dsttype = 'HIST_CALOQA'`
      await sql`insert into files select replace(lfn, '_v1-', '_v9-'), full_host_name, replace(full_file_path, '_v1-', '_v9-'), time + interval '1 day', size, md5
                from files where lfn like 'HIST\_CALOQA%v1-00066500-%'`
    }
    const remove = async () => {
      await sql`delete from datasets where tag = 'v9'`
      await sql`delete from files where lfn like '%\_v9-%'`
    }
    // One t.testdir() for the night's output and every fresh query's: a second call would empty the first's folder.
    const root = t.testdir({ night: {} })
    const output = join(root, 'night')
    const log = { info() {}, warn() {}, summary() {} }
    const options = { runType: 'run3auau', rules: BUILTIN_RULES.current, minEvents: undefined, statementTimeout: 60, output } as const
    const night = (more: { onSnapshot?: () => Promise<void>; fullQuery?: boolean; output?: string } = {}) =>
      runQuery(catalogTarget(url, {}), { ...options, retry: { attempts: 1 }, ...more }, log)
    const tags = async (dir = output) => [...new Set((await readFile(join(dir, 'query.csv'), 'utf8')).split('\n').slice(1, -1).map((line) => line.split(',').slice(0, 2).join(' ')))]
    /** query.csv as a full query of the catalog as it is now writes it. */
    const fresh = async () => {
      const dir = mkdtempSync(join(root, 'fresh-'))
      await night({ output: dir, fullQuery: true })
      return readFile(join(dir, 'query.csv'), 'utf8')
    }

    // A first night: the fingerprint and the query at once, on two connections sharing one snapshot.
    await night({ onSnapshot: insert })
    t.same(await tags(), ['66500 v1', '66501 v1'], 'a first night reads the catalog as its snapshot began')
    await remove()
    const quiet = await night()
    t.ok(quiet.unchangedCatalog, 'the change undone: the catalog is the one the first night read, so the night is quiet')
    t.equal(await readFile(join(output, 'query.csv'), 'utf8'), await fresh(), '... and query.csv is what a full query gives')

    // A night that may be quiet, but the catalog changed before it: the fingerprint, then the query, one snapshot.
    await sql`update files set time = time + interval '1 second' where lfn like 'HIST\_CALOQA%00066501-00000.root'`
    const asked = await night({ onSnapshot: insert })
    t.notOk(asked.unchangedCatalog, 'a changed catalog is asked for')
    t.same(await tags(), ['66500 v1', '66501 v1'], 'the query read the snapshot its fingerprint read')
    await remove()
    t.ok((await night()).unchangedCatalog, 'undone again: quiet')
    t.equal(await readFile(join(output, 'query.csv'), 'utf8'), await fresh(), '... and query.csv is what a full query gives')

    // The change kept: the next night sees it.
    await insert()
    t.notOk((await night()).unchangedCatalog, 'a change kept is asked for')
    t.same(await tags(), ['66500 v9', '66501 v1'])
  },
)

t.test("a server that cannot give the fingerprint: a warning, the traps counted on their own, and every night asks",
  { skip: usingServer ? false : 'PGlite has one database, whose settings would reach every other test of the file' },
  async (t) => {
    const { url, sql } = await freshDatabase(t)
    await makeCatalog(sql, [
      { run: 66500, tag: 'v1', segment: 0, events: 400000 },
      { run: 66500, tag: 'v1', segment: 9999, events: 1 },
    ])
    // A hash function of its own, found before pg_catalog's, that this "server" does not support (0A000).
    const database = new URL(url).pathname.slice(1)
    await sql.unsafe(`create schema shadow`)
    await sql.unsafe(`create function shadow.hashtextextended(text, bigint) returns bigint language plpgsql as
      $$ begin raise exception 'hashtextextended is not here' using errcode = 'feature_not_supported'; end $$`)
    await sql.unsafe(`alter database "${database}" set search_path = shadow, pg_catalog, public`)
    const output = t.testdir()
    const night = () => runStageHere('query', ['--rules', 'current', '--db-url', url, '--output', output, '--verbose'])
    for (const which of ['first', 'second']) {
      const result = await night()
      t.equal(result.code, 0, result.stderr)
      t.match(result.stderr, /the catalog's fingerprint failed \(.*hashtextextended is not here \(0A000\)\): asking for the whole selection/, `${which} night`)
      t.match(result.stderr, /left out 1 histogram rows of segment 9999/, `${which} night: the traps counted`)
      t.notMatch(result.stdout, QUIET, `${which} night asks`)
      t.match(result.stdout, /query: 1 file of 1 run\b/)
    }
  },
)

t.test('the code in the stamp covers every .ts file of the tree, in sub-folders too, and nothing else', async (t) => {
  const dir = t.testdir({ 'stage.ts': 'one', 'README.md': 'words', catalog: { 'rows.ts': 'two' } })
  const first = await treeDigest(dir)
  await writeFile(join(dir, 'README.md'), 'other words')
  t.equal(await treeDigest(dir), first, 'a file other than .ts changes nothing')
  await writeFile(join(dir, 'catalog', 'rows.ts'), 'two, changed')
  const second = await treeDigest(dir)
  t.not(second, first, 'a changed file in a sub-folder changes it')
  await mkdir(join(dir, 'new'))
  await writeFile(join(dir, 'new', 'file.ts'), '')
  t.not(await treeDigest(dir), second, 'a new file changes it')
})
