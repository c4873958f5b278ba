// Jobs named on a command line, many at a time: as a ClassAd constraint for `condor_qedit -constraint`, and in
// chunks small enough for one program's arguments. Linux refuses an exec whose one argument passes MAX_ARG_STRLEN
// (128 kB) or whose arguments and environment together pass ARG_MAX (a quarter of the stack limit, 2 MB by
// default), with E2BIG; a chunk is kept far below both, and small enough that one call ends well within --timeout.

/** A job of one schedd: cluster and proc. */
export type JobId = { cluster: number; proc: number }

export const jobIdText = (job: JobId) => `${job.cluster}.${job.proc}`

/** At most this many jobs in one condor_qedit or condor_release call. */
export const CHUNK_JOBS = 500

/** At most this many bytes of constraint in one condor_qedit call: a quarter of MAX_ARG_STRLEN. */
export const CHUNK_CONSTRAINT_BYTES = 32 * 1024

/**
 * `ClusterId == C && (ProcId == P || …)` for each cluster, joined by `||`: the form condor_qedit itself makes of job
 * ids (qedit.cpp makeJobidConstraint, htcondor 7491a145), which the schedd checks against each ad's ClusterId
 * first. Sorted, each job once.
 */
export function jobsConstraint(jobs: readonly JobId[]): string {
  const procs = new Map<number, Set<number>>()
  for (const { cluster, proc } of jobs) procs.set(cluster, (procs.get(cluster) ?? new Set()).add(proc))
  const clusters = [...procs.keys()].sort((a, b) => a - b)
  const one = (cluster: number) => {
    const ids = [...procs.get(cluster)!].sort((a, b) => a - b).map((proc) => `ProcId == ${proc}`)
    return `ClusterId == ${cluster} && ${ids.length === 1 ? ids[0] : `(${ids.join(' || ')})`}`
  }
  return clusters.length === 1 ? one(clusters[0]!) : clusters.map((cluster) => `(${one(cluster)})`).join(' || ')
}

/**
 * The most bytes a job can add to `jobsConstraint`: as the only job of its cluster, with the parentheses and `||`
 * around it. Summed over a chunk, a bound on its constraint whatever the clusters.
 */
const constraintBytes = (job: JobId) => `(ClusterId == ${job.cluster} && ProcId == ${job.proc}) || `.length

/** `jobs` in order, cut into chunks of at most `maxJobs` whose constraint stays within `maxBytes`. */
export function chunkJobs<T extends JobId>(
  jobs: readonly T[], maxJobs = CHUNK_JOBS, maxBytes = CHUNK_CONSTRAINT_BYTES,
): T[][] {
  const chunks: T[][] = []
  let bytes = 0
  for (const job of jobs) {
    const last = chunks.at(-1)
    const size = constraintBytes(job)
    if (last && last.length < maxJobs && bytes + size <= maxBytes) {
      last.push(job)
      bytes += size
    } else {
      chunks.push([job])
      bytes = size
    }
  }
  return chunks
}
