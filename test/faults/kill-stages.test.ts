// Killed at any moment, the stages after reduce (query and reduce: kill.test.ts): check, lists, condor and
// submit, each SIGKILLed at random points and run again. Outputs equal a clean run's, nothing partial is ever
// visible under a real name, and submit never puts a run in the queue twice.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runCondor } from '../../lib/condor.js'
import { readJobsList } from '../../lib/condor/jobs-list.js'
import { SUBMISSION_FILES } from '../../lib/condor/submit-file.js'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { readLedger } from '../../lib/files/ledger.js'
import { stateFromRunList } from '../fakes/cdb-lib.mjs'
import { freshDatabase } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, setCdbState } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { killRepeatedly } from '../helpers/kill.js'
import { buildBundles, startBuilt } from '../helpers/run-script.js'
import { listedRuns } from '../helpers/listed-runs.js'

/** Kills per stage for check, lists, condor and submit; the README's reliability table cites it. */
export const KILLS_PER_LATER_STAGE = Number(process.env.CALOPROD_KILLS_LATER ?? 5)

const RUN_TYPE = 'run3auau'
const quietLog = { info() {}, warn() {}, summary() {} }

/** The settled cache's third column is the time a run was found current: it differs from run to run. */
function withoutCheckTimes(files: Record<string, string>): Record<string, string> {
  const out = { ...files }
  const settled = `${RUN_TYPE}-settled.csv`
  if (out[settled] !== undefined) out[settled] = out[settled].replace(/^([^,\n]*,[^,\n]*),[^\n]*$/gm, '$1')
  return out
}

/** One catalog, its files on disk and the outputs of query, reduce and check, shared by the cases below. */
async function sourceDirectory(t: Test) {
  const work = mkdtempSync(join(tmpdir(), 'caloprod-kill-later-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(work, 'files') })
  await createCatalogFiles(files)
  const source = join(work, 'source')
  const query = await startBuilt('query', ['--db-url', db.url, '--output', source, '--quiet']).done
  t.equal(query.code, 0, query.stderr)
  const reduce = await startBuilt('reduce', ['--output', source, '--quiet']).done
  t.equal(reduce.code, 0, reduce.stderr)
  // A CDB where most runs are current, some outdated, the rest missing: check writes both its files.
  const cdb = fakeCdb(work)
  setCdbState(cdb, stateFromRunList(readFileSync(join(source, `${RUN_TYPE}.csv`), 'utf8'), { current: 0.4, outdated: 0.2 }))
  const cdbEnv = { ...fakeCdbEnv(cdb), CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS }
  const check = await startBuilt('check', ['--output', source, '--quiet'], cdbEnv).done
  t.equal(check.code, 0, check.stderr)
  const lists = await startBuilt('lists', ['--output', source, '--quiet']).done
  t.equal(lists.code, 0, lists.stderr)
  return { work, source, cdbEnv }
}

/** Copies `names` (files or folders) of the source directory into `dir`. */
const copy = (source: string, dir: string, ...names: string[]) => {
  for (const name of names) cpSync(join(source, name), join(dir, name), { recursive: true })
}

/** Lists in `dir` name their files by absolute path: the copies keep pointing at the shared catalog files. */
const processRuns = (dir: string) => readFileSync(join(dir, `${RUN_TYPE}-process.csv`), 'utf8').trim().split('\n').slice(1)

t.test('check, lists, condor and submit killed at random points', async (t) => {
  await buildBundles()
  const { work, source, cdbEnv } = await sourceDirectory(t)
  const logs = join(work, 'condor-logs')
  const condorEnv = { CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS, CALOPROD_CONDOR_LOG_DIR: logs }
  t.ok(processRuns(source).length > 3, 'the process list has runs to submit')

  t.test('check', async (t) => {
    const report = await killRepeatedly(t, {
      name: 'check',
      kills: KILLS_PER_LATER_STAGE,
      prepare: (dir) => copy(source, dir, `${RUN_TYPE}.csv`, 'reduce.csv'),
      start: (dir) => startBuilt('check', ['--output', dir, '--quiet'], cdbEnv),
      normalize: withoutCheckTimes,
    })
    t.ok(report.killedMidway >= KILLS_PER_LATER_STAGE / 2, `most kills landed while check ran (${report.killedMidway})`)
  })

  t.test('lists', async (t) => {
    const report = await killRepeatedly(t, {
      name: 'lists',
      kills: KILLS_PER_LATER_STAGE,
      prepare: (dir) => copy(source, dir, `${RUN_TYPE}-process.csv`, 'reduce.csv'),
      start: (dir) => startBuilt('lists', ['--output', dir, '--quiet']),
    })
    t.ok(report.killedMidway >= KILLS_PER_LATER_STAGE / 2, `most kills landed while lists ran (${report.killedMidway})`)
  })

  t.test('condor', async (t) => {
    const report = await killRepeatedly(t, {
      name: 'condor',
      kills: KILLS_PER_LATER_STAGE,
      prepare: (dir) => copy(source, dir, `${RUN_TYPE}-process.csv`, 'datasets'),
      start: (dir) => startBuilt('condor', ['--output', dir, '--quiet'], condorEnv),
    })
    t.ok(report.killedMidway >= KILLS_PER_LATER_STAGE / 2, `most kills landed while condor ran (${report.killedMidway})`)
  })

  t.test('submit --do-condor-submit: never a run twice in the queue or the ledger', async (t) => {
    // Each directory has its own fake queue beside the output.
    const output = (dir: string) => join(dir, 'out')
    const env = (dir: string) => ({ ...condorEnv, ...fakeCondorEnv(join(dir, 'condor-state.json')) })
    const expected = listedRuns(source)
    const queued = (dir: string) => readFakeState(join(dir, 'condor-state.json')).jobs.map((j) => j.CaloprodRunTag).sort()
    const submittedRows = async (dir: string) =>
      (await readLedger(join(output(dir), 'submissions.csv'))).rows.filter((r) => r.state === 'submitted').map((r) => `${r.runnumber}_${r.tag}`).sort()
    /** Every visible frozen submission is whole: its files, and every list its jobs.list names. */
    const frozenWhole = async (t: Test, dir: string, i: number | string) => {
      const root = join(output(dir), 'submissions')
      let names: string[] = []
      try {
        names = readdirSync(root).filter((name) => !name.startsWith('.'))
      } catch {
        return
      }
      for (const name of names) {
        const files = readdirSync(join(root, name))
        for (const file of [SUBMISSION_FILES.sub, SUBMISSION_FILES.script, SUBMISSION_FILES.jobs]) t.ok(files.includes(file), `kill ${i}: ${name} has ${file}`)
        const jobs = await readJobsList(join(root, name, SUBMISSION_FILES.jobs))
        t.ok(jobs.every((job) => readFileSync(job.list, 'utf8').length > 0), `kill ${i}: ${name}'s lists are all there`)
      }
    }
    const report = await killRepeatedly(t, {
      name: 'submit',
      kills: KILLS_PER_LATER_STAGE,
      output,
      prepare: async (dir) => {
        mkdirSync(output(dir))
        copy(source, output(dir), `${RUN_TYPE}-process.csv`, 'datasets')
        await runCondor({ output: output(dir), runType: RUN_TYPE, binGenStatus: FAKE_GENSTATUS, condorScript: undefined, condorLogDir: logs, memory: 0.5 }, quietLog)
        writeFileSync(join(dir, 'condor-state.json'), JSON.stringify({ nextCluster: 1, jobs: [], calls: [] }))
      },
      start: (dir) => startBuilt('submit', ['--output', output(dir), '--do-condor-submit'], env(dir)),
      // The ledger and the frozen copies carry the time of submission: checked on their own below.
      normalize: (files) => Object.fromEntries(Object.entries(files).filter(([path]) => path !== 'submissions.csv' && !path.startsWith('submissions/'))),
      afterKill: async (t, dir, i) => {
        t.ok(new Set(queued(dir)).size === queued(dir).length, `kill ${i}: no run twice in the queue`)
        await frozenWhole(t, dir, i)
      },
      afterRerun: async (t, dir, i) => {
        t.same(queued(dir), expected, `kill ${i}: each run in the queue exactly once`)
        t.same(await submittedRows(dir), expected, `kill ${i}: each run submitted once in the ledger`)
        await frozenWhole(t, dir, i)
      },
    })
    t.ok(report.killedMidway >= KILLS_PER_LATER_STAGE / 2, `most kills landed while submit ran (${report.killedMidway})`)
  })
})
