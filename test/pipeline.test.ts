// End to end: `task submit` through go-task and the project's Taskfile.yml, on the demo catalog,
// with the fake CDB and HTCondor; then a night with nothing changed, then a night with one new run.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createCatalogFiles } from './demo/files-on-disk.js'
import { insertDatasets, insertFiles, loadCatalog } from './demo/load.js'
import { freshDatabase } from './helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from './helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from './helpers/fake-condor.js'
import { mtimes } from './helpers/output-mtimes.js'
import { runTask } from './helpers/run-script.js'

const ledgerRows = (out: string) => readFileSync(join(out, 'submissions.csv'), 'utf8').trim().split('\n').slice(1)
const processRuns = (out: string) => readFileSync(join(out, 'run3auau-process.csv'), 'utf8').trim().split('\n').slice(1)

// Five nights and two plans, each a whole runner and its stages: more than tap's default on a busy machine.
t.setTimeout(420_000)

t.test('task submit: the whole chain, a quiet night, and a night with a new run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'caloprod-pipeline-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(dir, 'files') })
  await createCatalogFiles(files)
  const out = join(dir, 'out')
  const cdb = fakeCdb(dir)
  const condorState = join(dir, 'condor.json')
  const env = {
    ...fakeCdbEnv(cdb),
    ...fakeCondorEnv(condorState),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(dir, '.task'),
  }
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`]
  const task = (...args: string[]) => runTask([...args, ...vars], env)

  // Night 1: an empty CDB, so every run is submitted.
  const first = await task('--silent', 'submit')
  t.equal(first.code, 0, first.stderr)
  // The runs with a list: a run of the process list whose files on disk hold too few events gets none (the demo
  // catalog leaves files off disk and empty on purpose).
  const runs = readdirSync(join(out, 'datasets')).filter((name) => name.endsWith('.list'))
  t.ok(processRuns(out).length >= runs.length, 'no list without its run in the process list')
  t.ok(runs.length > 5, `${runs.length} runs to process`)
  t.match(first.stdout, new RegExp(`^submit: ${runs.length} runs submitted to cluster 1 `, 'm'))
  t.equal(readFakeState(condorState).jobs.length, runs.length, 'one job per run')
  t.equal(ledgerRows(out).filter((r) => r.includes(',submitted,')).length, runs.length, 'each run in the ledger once')

  // Night 2: nothing changed. reduce is skipped (its sources are files); lists and condor ask the disk and the
  // software release, so they run, and find nothing to change: nothing is written, nothing submitted.
  const before = mtimes(out)
  const second = await task('--verbose', 'submit')
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, /Task "reduce-run3auau-[^"]*" is up to date/, 'reduce skipped')
  for (const stage of ['lists', 'condor']) t.notMatch(second.stderr, new RegExp(`Task "${stage}[^"]*" is up to date`), `${stage} runs`)
  t.notMatch(second.stdout, /submitted/, 'nothing submitted')
  t.equal(readFakeState(condorState).jobs.length, runs.length, 'no new job')
  const after = mtimes(out)
  const changed = [...after].filter(([path, mtime]) => before.get(path) !== mtime)
  t.same(changed, [], 'no output rewritten')

  // Night 3: the catalog gains a run over the threshold: only it is submitted.
  const run = 69999
  const tag = 'new_newcdbtag_v009'
  const name = (type: string, seg: number) => `${type}_run3auau_${tag}-000${run}-${String(seg).padStart(5, '0')}.root`
  const base = { runnumber: run, size: 1, dataset: 'run3auau', firstevent: 0, lastevent: 0, tag, status: 1 }
  const segments = [0, 1, 2]
  await insertDatasets(db.sql, segments.flatMap((segment) => [
    { ...base, segment, filename: name('DST_CALOFITTING', segment), dsttype: 'DST_CALOFITTING', events: 300000 },
    { ...base, segment, filename: name('HIST_CALOQA', segment), dsttype: 'HIST_CALOQA', events: 300000 },
  ]))
  const newFiles = segments.map((segment) => ({
    lfn: name('HIST_CALOQA', segment), full_host_name: 'lustre', full_file_path: join(dir, 'files', name('HIST_CALOQA', segment)),
    time: '2026-11-28 12:00:00', size: 1, md5: 'x',
  }))
  await insertFiles(db.sql, newFiles)
  // Night 3: two of its three files are still in transfer: 300,000 events on disk, too few for a list.
  await createCatalogFiles(newFiles.slice(0, 1), Infinity)
  const third = await task('--silent', 'submit')
  t.equal(third.code, 0, third.stderr)
  t.notMatch(third.stdout, /submitted/, 'nothing submitted while its files are missing')
  t.notOk(existsSync(join(out, 'datasets', `${run}_${tag}.list`)), 'no list yet')
  t.match(readFileSync(join(out, 'run3auau-missing.csv'), 'utf8'), newFiles[1].full_file_path, 'the missing files are named')

  // Night 4: the files have arrived, nothing else changed: the list is written and only the run is submitted.
  await createCatalogFiles(newFiles.slice(1), Infinity)
  const fourth = await task('--silent', 'submit')
  t.equal(fourth.code, 0, fourth.stderr)
  t.equal(readFileSync(join(out, 'datasets', `${run}_${tag}.list`), 'utf8'), newFiles.map((f) => `${f.full_file_path}\n`).join(''), 'the list names all three')
  t.match(fourth.stdout, /^submit: 1 run submitted to cluster 2 /m)
  const jobs = readFakeState(condorState).jobs
  t.equal(jobs.length, runs.length + 1, 'one new job')
  t.equal(jobs.at(-1)!.CaloprodRunTag, `${run}_${tag}`, 'the new run')
  t.equal(ledgerRows(out).filter((r) => r.includes(',submitted,')).length, runs.length + 1, 'the ledger has each run once')

  // plan changes nothing on disk.
  const planned = mtimes(out)
  const plan = await task('--silent', 'plan')
  t.equal(plan.code, 0, plan.stderr)
  t.same(mtimes(out), planned, 'plan wrote nothing')

  // A new software release: OFFLINE_MAIN points at another install, and the plan's condor stage follows it.
  const install = (name: string) => {
    mkdirSync(join(dir, name, 'bin'), { recursive: true })
    copyFileSync(FAKE_GENSTATUS, join(dir, name, 'bin', 'CaloCDB-GenStatus'))
    return join(dir, name)
  }
  const { CALOPROD_BIN_GENSTATUS: _, ...withoutBin } = env
  for (const release of [install('ana.500'), install('ana.501')]) {
    const planned = await runTask(['--silent', 'plan', ...vars], { ...withoutBin, OFFLINE_MAIN: release })
    t.equal(planned.code, 0, planned.stderr)
    t.match(readFileSync(join(out, 'condor', 'genStatus.sub'), 'utf8'), `${release}/bin/CaloCDB-GenStatus`, `genStatus.sub names ${release}`)
  }
})

t.test('task submit RULES=current RUN_TYPE=run3oo: ten payloads, the fitting-QA files, a run type of 2026; switching rules re-runs reduce', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'caloprod-pipeline-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(dir, 'files'), runs: { run2pp: 0, run2auau: 0, run3auau: 3, run3pp: 3, run3oo: 6 } })
  await createCatalogFiles(files)
  const out = join(dir, 'out')
  const cdb = fakeCdb(dir)
  const env = {
    ...fakeCdbEnv(cdb, { FAKE_CDB_TYPES: '10' }),
    ...fakeCondorEnv(join(dir, 'condor.json')),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(dir, '.task'),
  }
  const vars = ['RUN_TYPE=run3oo', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`]
  const night = await runTask(['--silent', '-x', 'submit', 'RULES=current', ...vars], env)
  t.equal(night.code, 0, night.stderr)
  const runs = readFileSync(join(out, 'run3oo-process.csv'), 'utf8').trim().split('\n').slice(1)
  t.ok(runs.length >= 5, `${runs.length} runs to process`)
  t.ok(runs.every((line) => Number(line.split(',')[0]) >= 82374 && Number(line.split(',')[0]) <= 82703), 'all of them O+O runs')
  t.match(night.stdout, new RegExp(`^submit: ${runs.length} runs submitted`, 'm'))
  t.equal(readFileSync(cdb.lookups, 'utf8').trim().split('\n').length, 10 * runs.length, 'ten lookups a run')
  const lists = readdirSync(join(out, 'datasets')).map((name) => readFileSync(join(out, 'datasets', name), 'utf8'))
  t.ok(lists.every((list) => list.includes('HIST_CALOFITTINGQA') && list.includes('HIST_CALOQA_')), 'each list has QA and fitting-QA files')
  t.ok(lists.every((list) => !list.includes('SKIMMED') && !list.includes('-09999.root')), 'no skimmed, no segment-9999 file')

  // The seed's rules on the same output: the labels differ, so reduce and lists run again; the filter-datasets of
  // this site asks ten payloads, which the seed's rules refuse.
  const seed = await runTask(['--verbose', '-x', 'submit', 'RULES=seed', ...vars], env)
  t.equal(seed.code, 2, 'a ten-type filter-datasets under the seed rules: exit 2')
  t.match(seed.stderr, /tasks\/reduce\.ts --run-type run3oo/, 'reduce ran again under the seed rules')
  t.match(seed.stderr, /filter-datasets is a release since 2025-10 \(ten payload types\), but the rule set needs 7/)
})
