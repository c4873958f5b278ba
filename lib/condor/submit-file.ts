import { realpath } from 'node:fs/promises'
import { resolve } from 'node:path'
import { classAdString, condorArguments, submitLiteral } from './quote.js'

/** The files of a submission directory (`<output>/condor/` and each frozen copy); job output relative to it. */
export const SUBMISSION_FILES = {
  sub: 'genStatus.sub', script: 'genStatus.sh', jobs: 'jobs.list', stdoutDir: 'stdout', stderrDir: 'error',
} as const

/** A job's standard error, relative to its submission directory: `jobId` is `<cluster>-<proc>` (or condor's macros). */
export const jobStderrFile = (jobId: string) => `${SUBMISSION_FILES.stderrDir}/job-${jobId}.err`

/** The queue statement given to condor_submit (DESIGN.md): one job per line of jobs.list. */
export const QUEUE_ARGS = 'input_run from jobs.list'

/**
 * Attributes every caloprod job carries: `CaloprodRunTag` is `<run>_<tag>` (the list's name without `.list`),
 * `CaloprodOutput` the resolved output directory, so two caloprod instances never take each other's jobs.
 */
export const JOB_ATTRIBUTES = { runTag: 'CaloprodRunTag', output: 'CaloprodOutput' } as const

/**
 * genStatus.sub: every path absolute or relative to the directory condor_submit runs in, so a copy submits the
 * same jobs. Callers check the values with `submitValueProblem`. Jobs write to `<output>/output`; `memory` in GB.
 */
export function submitFileText(spec: {
  binGenStatus: string; output: string; resolvedOutput: string; condorLogDir: string; memory: number
}): string {
  const jobId = '$(ClusterId)-$(ProcId)'
  const lines = [
    '# genStatus.sub, written by caloprod (tasks/condor.ts): one job per run, each running genStatus.sh on the',
    '# run\'s file list. Submit from the directory holding this file (caloprod\'s submit stage does, from a frozen copy):',
    `#   condor_submit ${SUBMISSION_FILES.sub} -queue "${QUEUE_ARGS}"`,
    'universe        = vanilla',
    `executable      = ${SUBMISSION_FILES.script}`,
    `arguments       = ${condorArguments([spec.binGenStatus, { macro: 'input_run' }, `${spec.output}/output`])}`,
    `output          = ${SUBMISSION_FILES.stdoutDir}/job-${jobId}.out`,
    `error           = ${jobStderrFile(jobId)}`,
    `log             = ${submitLiteral(spec.condorLogDir)}/job-${jobId}.log`,
    // Whole MB: the unit condor_submit reads without doubt.
    `request_memory  = ${Math.ceil(spec.memory * 1024)}MB`,
    `+${JOB_ATTRIBUTES.runTag}  = "$Fn(input_run)"`,
    outputAttributeLine(spec.resolvedOutput),
  ]
  return `${lines.join('\n')}\n`
}

/** The submit file's line that tags each job with its output directory; submit checks condor/ has it. */
export function outputAttributeLine(output: string): string {
  return `+${JOB_ATTRIBUTES.output}  = ${submitLiteral(classAdString(output))}`
}

/**
 * The output directory as jobs carry it, symlinks resolved, so `/sphenix/u/x` and `/direct/sphenix+u/x` (one a
 * symlink to the other) name the same jobs. A directory that does not exist (yet) is only made absolute.
 */
export async function resolvedOutput(output: string): Promise<string> {
  return realpath(output).catch(() => resolve(output))
}

/** The MB a submit file of ours requests (its `request_memory` line), or undefined when it has none. */
export function memoryOfSubmitFile(text: string): number | undefined {
  const match = /^request_memory\s*=\s*(\d+)MB$/m.exec(text)
  return match ? Number(match[1]) : undefined
}
