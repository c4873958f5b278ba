// The entry of the fake programs of this directory (condor_q, condor_history, condor_submit, fake-condor,
// CaloCDB-FilterDatasets, fake-cdb): each is a short sh script that runs `node program.mjs NAME $0 ARGS...`.
// Here the program runs as if started as $0 with ARGS (process.argv as its own would be).
const [name, invokedAs] = process.argv.splice(2, 2)
process.argv[1] = invokedAs

const programs = {
  'CaloCDB-FilterDatasets': async () => (await import('./cdb-filter-datasets.mjs')).main(),
  condor_q: async () => {
    const lib = await import('./condor-lib.mjs')
    return lib.query('condor_q', (job) => lib.IN_QUEUE.has(job.JobStatus))
  },
  condor_history: async () => {
    const lib = await import('./condor-lib.mjs')
    return lib.query('condor_history', (job) => !lib.IN_QUEUE.has(job.JobStatus))
  },
  condor_submit: async () => (await import('./condor-submit-lib.mjs')).main(),
  'fake-cdb': async () => (await import('./cdb-lib.mjs')).cli(),
  'fake-condor': async () => (await import('./fake-condor-lib.mjs')).main(),
}

const program = programs[name]
if (!program) {
  process.stderr.write(`test/fakes/program.mjs: no fake program ${name}\n`)
  process.exit(2)
}
await program()
