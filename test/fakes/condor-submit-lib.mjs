// The fake condor_submit FILE [-queue "VAR from LIST" | -queue N] (test/fakes/condor_submit): checks the submit
// file for the commands caloprod writes (unknown command, a missing or empty executable and undefined macros are
// errors; missing folders for the log, output and error only where the site turned file checks on: condor-lib.mjs),
// expands macros per job, parses `arguments` in the new syntax and records the jobs in $FAKE_CONDOR_STATE.
// The jobs go to the local schedd (condor-lib.mjs: $FAKE_CONDOR_SCHEDD), which numbers its clusters itself and gives
// each job its GlobalJobId (qmgmt.cpp NewProcInternal, htcondor/htcondor 7491a145); like the real one, condor_submit
// prints only `N job(s) submitted to cluster C.`, never the schedd's name (src/condor_submit.V6/submit.cpp).
// FAKE_CONDOR_SUBMIT_MODE: fail (exit 1, nothing queued), hang (before queueing), garbage (queues, prints
// nonsense, exits 0), submit-then-hang (queues, then hangs), miscount (queues, reports one job too many),
// commit-lost (the schedd commits the jobs but condor_submit does not learn it: the real one then prints
// "ERROR: Failed to commit job submission into the queue." on stderr and exits 1 before any "N job(s) submitted"
// line: submit.cpp main, MyQ->disconnect failing, htcondor/htcondor 7491a145).
import { readFileSync } from 'node:fs'
import {
  absoluteFrom, callerName, checkExecutable, checkWritableDir, expandMacros, fail, hang, loadState, localSchedd, parentCommand, parseLiteral, parseNewArguments,
  parseSubmitFile, saveState, statePath, takeCluster,
} from './condor-lib.mjs'
import { carryOnAfterClosedPipe } from './closed-pipe.mjs'

/**
 * request_memory as the schedd holds it: RequestMemory in MB, a whole number (submit_utils.cpp SetRequestMem: a
 * size without a unit is MB; K, M, G, T scale it, rounded up).
 */
function megabytes(value) {
  const [, number, unit = 'M'] = /^(\d+(?:\.\d+)?)\s*([KMGT])?B?$/i.exec(value)
  const scale = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit.toUpperCase()]
  return Math.ceil(Number(number) * scale)
}

/** Runs the fake condor_submit on process.argv. */
export function main() {
  carryOnAfterClosedPipe()
  const program = 'condor_submit'
  const args = process.argv.slice(2)
  let file
  let queueArgs
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-queue') { queueArgs = args.slice(i + 1).join(' '); break }
    if (args[i].startsWith('-')) fail(program, `the fake does not know the option ${args[i]}`)
    if (file !== undefined) fail(program, `more than one submit file: ${file}, ${args[i]}`)
    file = args[i]
  }
  if (!file) fail(program, 'no submit file given')
  const path = statePath(program)
  const mode = process.env.FAKE_CONDOR_SUBMIT_MODE ?? 'ok'
  const cwd = process.cwd()
  const record = (state) => { state.calls.push({ program, argv: args, cwd, mode, parent: parentCommand() }); saveState(path, state) }

  if (mode === 'fail') {
    record(loadState(path))
    fail(program, 'ERROR: Failed to connect to local queue manager (fake)')
  }
  if (mode === 'hang') {
    const state = loadState(path)
    state.hanging = [...(state.hanging ?? []), process.pid]
    record(state)
    hang()
  } else {
    try {
      const { commands, queue } = parseSubmitFile(readFileSync(absoluteFrom(cwd, file), 'utf8'))
      if (queue !== undefined && queueArgs !== undefined) throw new Error('-queue is only allowed when the submit file has no queue statement')
      const statement = queueArgs ?? queue
      if (statement === undefined) throw new Error('no queue statement')
      let items
      let variable = 'item'
      const from = /^(\w+)\s+from\s+(.+)$/i.exec(statement.trim())
      if (from) {
        variable = from[1]
        items = readItems(readFileSync(absoluteFrom(cwd, from[2].trim()), 'utf8'))
      } else if (/^\d*$/.test(statement.trim())) {
        items = Array.from({ length: Number(statement.trim() || 1) }, () => '')
      } else throw new Error(`the fake does not know the queue statement "${statement}"`)
      if (items.length === 0) throw new Error('the queue statement queues no jobs')

      const value = (name) => commands.filter((c) => !c.custom && c.name === name).at(-1)?.value
      const executable = value('executable')
      if (!executable) throw new Error('no executable')
      const memory = value('request_memory')
      if (memory !== undefined && !/^\d+(\.\d+)?\s*(K|KB|M|MB|G|GB|T|TB)?$/i.test(memory)) throw new Error(`request_memory "${memory}" is not a size`)

      const state = loadState(path)
      const schedd = localSchedd()
      const cluster = takeCluster(state, schedd)
      const now = Math.floor(Date.now() / 1000)
      const jobs = items.map((item, proc) => {
        const vars = { [variable]: item, ClusterId: cluster, Cluster: cluster, ProcId: proc, Process: proc }
        for (const c of commands) if (!c.custom) vars[c.name] = c.value
        const expand = (text) => expandMacros(text, vars)
        const iwd = absoluteFrom(cwd, value('initialdir') ? expand(value('initialdir')) : '.')
        const cmd = absoluteFrom(iwd, expand(executable))
        checkExecutable(cmd)
        const job = {
          ClusterId: cluster, ProcId: proc, GlobalJobId: `${schedd}#${cluster}.${proc}#${now}`, JobStatus: 1, QDate: now,
          EnteredCurrentStatus: now, Iwd: iwd, Cmd: cmd, Owner: callerName(),
        }
        const argumentsValue = value('arguments')
        job.Arguments = argumentsValue === undefined ? '' : expand(argumentsValue)
        job.Args = argumentsValue === undefined ? [] : parseNewArguments(job.Arguments)
        for (const [name, attr] of [['output', 'Out'], ['error', 'Err'], ['log', 'UserLog']]) {
          if (value(name) === undefined) continue
          job[attr] = absoluteFrom(iwd, expand(value(name)))
          checkWritableDir(job[attr], name)
        }
        if (memory !== undefined) job.RequestMemory = megabytes(memory)
        for (const c of commands.filter((c) => c.custom)) job[c.name] = parseLiteral(expand(c.value))
        return job
      })
      state.jobs.push(...jobs)
      if (mode === 'submit-then-hang') state.hanging = [...(state.hanging ?? []), process.pid]
      record(state)
      if (mode === 'submit-then-hang') {
        process.stdout.write('Submitting job(s)')
        hang()
      } else if (mode === 'commit-lost') {
        process.stdout.write(`Submitting job(s)${'.'.repeat(jobs.length)}`)
        process.stderr.write('\nERROR: Failed to commit job submission into the queue.\n')
        process.exit(1)
      } else if (mode === 'garbage') {
        process.stdout.write('Submitting job(s)\n\u0007?? schedd said: %&*( \n')
      } else {
        const count = mode === 'miscount' ? jobs.length + 1 : jobs.length
        process.stdout.write(`Submitting job(s)${'.'.repeat(jobs.length)}\n${count} job(s) submitted to cluster ${cluster}.\n`)
      }
    } catch (err) {
      record(loadState(path))
      fail(program, `ERROR: ${err.message}`)
    }
  }
}

/**
 * The items of a `queue VAR from FILE`, one job each, as condor_submit reads them (htcondor 7491a145:
 * submit_utils.cpp load_external_q_foreach_items over config.cpp getline_trim): C white space trimmed at both ends of
 * each line; a line ending in `\` goes on with the next (the `\` dropped), except one starting with `#`, which
 * only loses its `\`; a continuation line starting with `#` adds only its last character; an empty line or one
 * starting with `#` is an item like any other (submit.cpp queue_item). With one variable the whole item is its
 * value (SubmitForeachArgs::split_item).
 */
export function readItems(text) {
  const items = []
  let pending = null
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (const raw of lines) {
    let line = raw.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '')
    const comment = line.startsWith('#')
    if (comment && pending !== null) line = line.slice(-1)
    const joined = (pending ?? '') + line
    const first = pending === null
    if (joined.endsWith('\\') && !(first && comment)) pending = joined.slice(0, -1)
    else { items.push(joined.endsWith('\\') ? joined.slice(0, -1) : joined); pending = null }
  }
  if (pending !== null) items.push(pending)
  return items
}
