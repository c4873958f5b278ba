// The fake HTCondor behind test/fakes/condor_submit, condor_q, condor_history and fake-condor: the schedds of a pool
// and their jobs, kept in the JSON file $FAKE_CONDOR_STATE. Plain Node (no tsx), so the fakes start fast from any PATH.
//
// Written from HTCondor's own source and manual (github.com/htcondor/htcondor at 7491a145, 2026-08-21; the manual
// at htcondor.readthedocs.io is built from its docs/): man-pages/condor_q.rst, condor_history.rst (-name, -constraint,
// -af), classad-attributes/job-classad-attributes.rst (GlobalJobId) and admin-manual/configuration/global.rst
// (MAX_HISTORY_LOG, MAX_HISTORY_ROTATIONS: the history is rotated files of 20 MB by default, so a busy schedd forgets
// a finished job within days); src/condor_q.V6/queue.cpp, src/condor_tools/history.cpp and
// src/condor_schedd.V6/qmgmt.cpp (NewProcInternal) for what they print and how they fail. What it models:
// - Several schedds in one state. Each job belongs to the schedd its GlobalJobId names (`<schedd>#<cluster>.<proc>#
//   <submit time>`, set by the schedd when the job is queued); a job written into the state without one belongs to
//   DEFAULT_SCHEDD. Cluster ids are counted per schedd, so two schedds have a cluster 1 each.
// - The local schedd (the one condor_submit, and condor_q and condor_history without -name, talk to):
//   $FAKE_CONDOR_SCHEDD (this host's schedd; a cron moved to another submit node sets another), else DEFAULT_SCHEDD.
// - `-name SCHEDD` selects a schedd of the pool: DEFAULT_SCHEDD, the local one, those of `state.schedds` and every
//   schedd with a job. Any other name fails as the real tools do: condor_q "Error: Collector has no record of
//   schedd/submitter" (exit 1), condor_history "Unable to locate remote schedd (name=…, pool=)." (exit 1).
// - FAKE_CONDOR_Q_MODE / FAKE_CONDOR_HISTORY_MODE=fail|hang: the program fails or never answers; FAKE_CONDOR_DOWN
//   (comma-separated): schedds the collector lists that do not answer.
// - FAKE_CONDOR_COLLECTOR=down: the central manager does not answer. A query with `-name` fails, as it asks the
//   collector where that schedd is: condor_q "Error: Couldn't contact the condor_collector on <COLLECTOR_HOST>."
//   and its Extra Info (queue.cpp main, Q_COMMUNICATION_ERROR; error_utils.cpp printNoCollectorContact), condor_history
//   "Unable to locate remote schedd (name=…, pool=)." (history.cpp), exit 1; one without `-name` reaches the local
//   schedd through its address file and answers (queue.cpp main: `schedd.locate()` of the local schedd).
// - A history that rotated: `fake-condor forget` drops finished jobs, which then are in neither program's answer.
// - `condor_q [-name SCHEDD] -totals` (no -af): the title `-- Schedd: <Name> : <address> @ <time>` after two empty
//   lines, then the three `Total for …` lines (queue.cpp: show_schedd_queue's source_label, print_full_header,
//   standard_summary3), Name being the schedd's, as its GlobalJobIds begin (condor_q locates the local schedd by
//   the same Name: queue.cpp main, `schedd.name()`).
// - Whose jobs condor_q shows: the caller's only (CONDOR_Q_ONLY_MY_JOBS defaults to true: queue.cpp, main and
//   processCommandLineArguments; its usage text: "Only information about jobs owned by the current user will be
//   returned"), unless `-allusers` is given; a constraint does not lift it. condor_history shows every user's (it has
//   no such option). The caller is $FAKE_CONDOR_USER, else the process's user; condor_submit sets a job's Owner to
//   it, and a job written into the state without one is the caller's.
// - One client at a time: the schedd serves each program's queue-management connection whole, in one transaction
//   (src/condor_schedd.V6/qmgmt.cpp, handle_q: BeginTransaction, the client's requests until it closes, the commit),
//   in its one thread, so two programs run at once (two cron lines' condor_submit and condor_q) never lose each
//   other's jobs or take one cluster id. The fake holds `$FAKE_CONDOR_STATE.lock` from loadState to the program's end
//   (or until it hangs); a holder killed meanwhile (its pid gone) is passed over.
import { randomBytes } from 'node:crypto'
import { userInfo } from 'node:os'
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path'
import { carryOnAfterClosedPipe, endOnClosedPipe } from './closed-pipe.mjs'

export const STATUS = { idle: 1, running: 2, removed: 3, completed: 4, held: 5, transferring: 6, suspended: 7 }
/** condor_q shows these; condor_history the others. */
export const IN_QUEUE = new Set([1, 2, 5, 6, 7])

export function fail(program, message, code = 1) {
  process.stderr.write(`${program}: ${message}\n`)
  process.exit(code)
}

/** The user a fake program runs as: $FAKE_CONDOR_USER (a person's own account beside the production one), else the process's. */
export const callerName = () => process.env.FAKE_CONDOR_USER || userInfo().username

export function statePath(program) {
  const path = process.env.FAKE_CONDOR_STATE
  if (!path) fail(program, 'FAKE_CONDOR_STATE is not set (the fake HTCondor keeps its queue there)')
  return path
}

/** The schedd of a state whose jobs carry no GlobalJobId, and the local one unless $FAKE_CONDOR_SCHEDD says another. */
export const DEFAULT_SCHEDD = 'sphnxsub01.fake.bnl.gov'

/** The schedd condor_submit and condor_q (without -name) talk to on this host. */
export const localSchedd = () => process.env.FAKE_CONDOR_SCHEDD || DEFAULT_SCHEDD

/** The schedd that queued a job: GlobalJobId up to its first `#`. */
export const scheddOf = (job) => String(job.GlobalJobId).split('#')[0]

/** The schedds the pool's collector knows. */
export function knownSchedds(state) {
  return new Set([DEFAULT_SCHEDD, localSchedd(), ...(state.schedds ?? []), ...state.jobs.map(scheddOf)])
}

/** The next cluster id of a schedd (`nextCluster` is DEFAULT_SCHEDD's, `nextClusters` the others'), and counts it. */
export function takeCluster(state, schedd) {
  if (schedd === DEFAULT_SCHEDD) return (state.nextCluster = (state.nextCluster ?? 1) + 1) - 1
  state.nextClusters = state.nextClusters ?? {}
  return (state.nextClusters[schedd] = (state.nextClusters[schedd] ?? 1) + 1) - 1
}

/** The hold on the state of this program (see the header), released when it ends or hangs. */
let held

function releaseHold() {
  if (held === undefined) return
  try {
    unlinkSync(held)
  } catch {}
  held = undefined
}

/** Whether the process that made a hold is gone (killed before it let go); false while it cannot tell. */
function holderGone(lock) {
  const pid = Number(readFileSync(lock, { encoding: 'utf8', flag: 'r' }).trim() || NaN)
  if (!(pid > 0)) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return err.code === 'ESRCH'
  }
}

/** Waits for the state's hold and takes it, for the rest of this program's life. */
function takeHold(path) {
  if (held !== undefined) return
  const lock = `${path}.lock`
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    let gone = false
    try {
      gone = holderGone(lock)
    } catch {} // let go meanwhile: try again
    if (gone) {
      try {
        unlinkSync(lock)
      } catch {}
    } else Atomics.wait(pause, 0, 0, 5)
  }
  held = lock
  process.once('exit', releaseHold)
}

export function loadState(path) {
  takeHold(path)
  const state = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : { nextCluster: 1, jobs: [], calls: [] }
  for (const job of state.jobs) {
    job.GlobalJobId ??= `${DEFAULT_SCHEDD}#${job.ClusterId}.${job.ProcId}#${job.QDate ?? job.EnteredCurrentStatus ?? 0}`
  }
  return state
}

export function saveState(path, state) {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(temp, path)
}

/** The command line of the process that started this one (Linux /proc): tests check no shell stands between. */
export function parentCommand() {
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
  } catch {
    return undefined
  }
}

/** Blocks forever (until killed), as a scheduler that does not answer. */
export function hang() {
  releaseHold()
  setInterval(() => {}, 1 << 30)
}

// ---- ClassAd expressions: literals, attribute names, == != =?= =!= && || ! and parentheses.

function tokenize(text) {
  const tokens = []
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '"') {
      let value = ''
      i++
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++
        value += text[i++]
      }
      if (text[i] !== '"') throw new Error(`unterminated string in ${text}`)
      i++
      tokens.push({ kind: 'string', value })
      continue
    }
    const op = ['=?=', '=!=', '==', '!=', '&&', '||', '(', ')', '!'].find((o) => text.startsWith(o, i))
    if (op) { tokens.push({ kind: 'op', value: op }); i += op.length; continue }
    const word = /^[A-Za-z_][\w.]*|^-?\d+(\.\d+)?/.exec(text.slice(i))
    if (!word) throw new Error(`cannot parse ${JSON.stringify(text.slice(i))}`)
    tokens.push(/^-?\d/.test(word[0]) ? { kind: 'number', value: Number(word[0]) } : { kind: 'name', value: word[0] })
    i += word[0].length
  }
  return tokens
}

/** Parses a constraint into a function of a job's attributes (looked up case-insensitively). */
export function parseConstraint(text) {
  const tokens = tokenize(text)
  let at = 0
  const peek = () => tokens[at]
  const take = (value) => {
    const token = tokens[at]
    if (value !== undefined && (!token || token.value !== value)) throw new Error(`expected ${value} in ${text}`)
    at++
    return token
  }
  const primary = () => {
    const token = take()
    if (!token) throw new Error(`unexpected end of ${text}`)
    if (token.kind === 'op' && token.value === '(') { const inner = or(); take(')'); return inner }
    if (token.kind === 'op' && token.value === '!') { const inner = primary(); return (job) => { const v = inner(job); return v === undefined ? undefined : !v } }
    if (token.kind === 'string' || token.kind === 'number') return () => token.value
    const lower = token.value.toLowerCase()
    if (lower === 'true') return () => true
    if (lower === 'false') return () => false
    if (lower === 'undefined') return () => undefined
    return (job) => lookup(job, token.value)
  }
  const comparison = () => {
    const left = primary()
    const token = peek()
    if (!token || token.kind !== 'op' || !['==', '!=', '=?=', '=!='].includes(token.value)) return left
    take()
    const right = primary()
    return (job) => compare(token.value, left(job), right(job))
  }
  const and = () => {
    let left = comparison()
    while (peek()?.value === '&&') { take(); const l = left; const r = comparison(); left = (job) => l(job) === true && r(job) === true }
    return left
  }
  const or = () => {
    let left = and()
    while (peek()?.value === '||') { take(); const l = left; const r = and(); left = (job) => l(job) === true || r(job) === true }
    return left
  }
  const expr = or()
  if (at !== tokens.length) throw new Error(`trailing tokens in ${text}`)
  return (job) => expr(job) === true
}

function compare(op, a, b) {
  if (op === '=?=' || op === '=!=') {
    const same = a === b
    return op === '=?=' ? same : !same
  }
  if (a === undefined || b === undefined) return undefined
  const same = typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b
  return op === '==' ? same : !same
}

export function lookup(job, name) {
  const key = Object.keys(job).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : job[key]
}

/** condor_q / condor_history: `[-name SCHEDD] -constraint EXPR -af[:opts] ATTR...` over the jobs `select` keeps. */
export function query(program, select) {
  if (program === 'condor_history') endOnClosedPipe()
  else carryOnAfterClosedPipe()
  const args = process.argv.slice(2)
  let constraint = () => true
  let attrs
  let separator = ' '
  let jobIds = false
  let name
  let totals = false
  let allUsers = program !== 'condor_q'
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '-allusers' && program === 'condor_q') allUsers = true
    else if (arg === '-totals' && program === 'condor_q') totals = true
    else if (arg === '-name') {
      name = args[++i]
      if (!name) fail(program, program === 'condor_q' ? 'Error: -name requires the name of a schedd as an argument.' : 'Error: Argument -name requires name of a remote schedd')
    } else if (arg === '-constraint') {
      try { constraint = parseConstraint(args[++i] ?? '') } catch (err) { fail(program, `bad -constraint: ${err.message}`) }
    } else if (/^-af(:[a-z,]*)?$/.test(arg) || /^-autoformat(:[a-z,]*)?$/.test(arg)) {
      const opts = arg.split(':')[1] ?? ''
      if (opts.includes('t')) separator = '\t'
      if (opts.includes(',')) separator = ','
      jobIds = opts.includes('j')
      attrs = args.slice(i + 1)
      break
    } else fail(program, `the fake does not know the option ${arg}`)
  }
  const mode = process.env[program === 'condor_q' ? 'FAKE_CONDOR_Q_MODE' : 'FAKE_CONDOR_HISTORY_MODE']
  // FAKE_CONDOR_DOWN: schedds the collector still lists but that do not answer (a submit node being rebooted).
  const down = (process.env.FAKE_CONDOR_DOWN ?? '').split(',').includes(name ?? localSchedd())
  if (mode === 'fail' || down) fail(program, '-- Failed to fetch ads from: <127.0.0.1:9618> : schedd is down (fake)')
  if (mode === 'hang') return hang()
  if (name !== undefined && process.env.FAKE_CONDOR_COLLECTOR === 'down') {
    process.stderr.write(program === 'condor_q'
      ? "Error: Couldn't contact the condor_collector on your central manager.\n\nExtra Info: the condor_collector is a process that runs on the central manager of your Condor pool and collects the status of all the machines and jobs in the Condor pool. The condor_collector might not be running, it might be refusing to communicate with you, there might be a network problem, or there may be some other problem. Check with your system administrator to fix this problem.\n"
      : `Unable to locate remote schedd (name=${name}, pool=).\n`)
    process.exit(1)
  }
  const state = loadState(statePath(program))
  const schedd = name ?? localSchedd()
  state.calls.push({ program, argv: args, schedd, parent: parentCommand() })
  saveState(statePath(program), state)
  if (!knownSchedds(state).has(schedd)) {
    // As the real tools print it (queue.cpp, history.cpp): no program name before it.
    const message = program === 'condor_q' ? 'Error: Collector has no record of schedd/submitter' : `Unable to locate remote schedd (name=${schedd}, pool=).`
    process.stderr.write(`${message}\n`)
    process.exit(1)
  }
  if (totals && !attrs) return printTotals(state, schedd)
  if (!attrs || attrs.length === 0) fail(program, 'the fake answers only -af and -totals queries')
  const format = (value) => (value === undefined ? 'undefined' : String(value))
  const visible = (job) => allUsers || (job.Owner ?? callerName()) === callerName()
  for (const job of state.jobs.filter((job) => scheddOf(job) === schedd).filter(select).filter(visible).filter(constraint)) {
    const fields = attrs.map((attr) => format(lookup(job, attr)))
    process.stdout.write(`${jobIds ? `${job.ClusterId}.${job.ProcId} ` : ''}${fields.join(separator)}\n`)
  }
}

/** `condor_q -totals`: the title naming the schedd, then the job counts of the query, the caller and all users. */
function printTotals(state, schedd) {
  const mine = state.jobs.filter((job) => scheddOf(job) === schedd && IN_QUEUE.has(job.JobStatus))
  const line = (who, jobs) => {
    const count = (status) => jobs.filter((job) => job.JobStatus === status).length
    return `Total for ${who}: ${jobs.length} jobs; ${count(STATUS.completed)} completed, ${count(STATUS.removed)} removed, ` +
      `${count(STATUS.idle)} idle, ${count(STATUS.running)} running, ${count(STATUS.held)} held, ${count(STATUS.suspended)} suspended`
  }
  const own = mine.filter((job) => (job.Owner ?? callerName()) === callerName())
  const time = new Date().toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T([\d:]{8}).*$/, '$2/$3/$1 $4')
  process.stdout.write(`\n\n-- Schedd: ${schedd} : <127.0.0.1:9618?... @ ${time}\n${line('query', own)}\n${line(callerName(), own)}\n${line('all users', mine)}\n`)
}

// ---- condor_submit: the submit file commands caloprod uses, macros, and arguments in the new syntax.

export const KNOWN_COMMANDS = new Set([
  'universe', 'executable', 'arguments', 'output', 'error', 'log', 'request_memory', 'request_cpus', 'request_disk',
  'notification', 'getenv', 'initialdir', 'should_transfer_files', 'when_to_transfer_output', 'batch_name', 'priority',
  'environment', 'requirements', 'accounting_group',
])

/** Reads `key = value` lines; `+Name` and `MY.Name` are custom attributes; a `queue` line is returned apart. */
export function parseSubmitFile(text) {
  const commands = []
  let queue
  const lines = text.replace(/\\\n/g, '').split('\n')
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const queueMatch = /^queue\b(.*)$/i.exec(line)
    if (queueMatch) { queue = queueMatch[1].trim(); return }
    const match = /^([+]?[A-Za-z_][\w.]*)\s*=\s*(.*)$/.exec(line)
    if (!match) throw new Error(`on line ${i + 1} of the submit file: cannot parse ${JSON.stringify(line)}`)
    const key = match[1]
    const custom = key.startsWith('+') || /^my\./i.test(key)
    if (!custom && !KNOWN_COMMANDS.has(key.toLowerCase())) throw new Error(`on line ${i + 1} of the submit file: unknown command ${key}`)
    commands.push({ key, custom, name: custom ? key.replace(/^\+|^my\./i, '') : key.toLowerCase(), value: match[2].trim(), line: i + 1 })
  })
  return { commands, queue }
}

const DOLLAR_MARK = '\u0000DOLLAR\u0000'

/** Expands $(NAME), $Fxx(NAME) and $(DOLLAR) as condor_submit does, re-reading expansions (but not $(DOLLAR)). */
export function expandMacros(value, vars) {
  const get = (name) => {
    const key = Object.keys(vars).find((k) => k.toLowerCase() === name.toLowerCase())
    if (key === undefined) throw new Error(`undefined macro $(${name})`)
    return vars[key]
  }
  let text = value
  for (let round = 0; round < 20; round++) {
    const next = text.replace(/\$(F[a-z]*)?\(([A-Za-z_][\w.]*)\)/g, (_, fn, name) => {
      if (!fn && name.toUpperCase() === 'DOLLAR') return DOLLAR_MARK
      const v = String(get(name))
      if (!fn) return v
      const mods = fn.slice(1)
      const ext = extname(v)
      if (mods === 'n') return basename(v, ext)
      if (mods === 'x') return ext
      if (mods === 'nx') return basename(v)
      if (mods === 'p') return `${dirname(v)}/`
      throw new Error(`the fake does not know $${fn}()`)
    })
    if (next === text) break
    text = next
  }
  return text.split(DOLLAR_MARK).join('$')
}

/** Splits `arguments` in the new syntax (double-quoted; '' and "" escapes); throws on the old syntax. */
export function parseNewArguments(value) {
  if (!(value.startsWith('"') && value.endsWith('"') && value.length >= 2)) throw new Error(`arguments must use the new syntax (in double quotes): ${value}`)
  const inner = value.slice(1, -1)
  const args = []
  let current = null
  let quoted = false
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]
    if (c === '"') {
      if (inner[i + 1] !== '"') throw new Error(`a lone " in arguments: ${value}`)
      current = (current ?? '') + '"'
      i++
    } else if (c === "'") {
      if (quoted && inner[i + 1] === "'") { current = (current ?? '') + "'"; i++ }
      else { quoted = !quoted; current = current ?? '' }
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (current !== null) args.push(current)
      current = null
    } else current = (current ?? '') + c
  }
  if (quoted) throw new Error(`unterminated single quote in arguments: ${value}`)
  if (current !== null) args.push(current)
  return args
}

/** A ClassAd literal of a +Attr line: a string, a number, or true/false. */
export function parseLiteral(value) {
  if (/^"(?:[^"\\]|\\.)*"$/.test(value)) return value.slice(1, -1).replace(/\\(.)/g, '$1')
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value)
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw new Error(`the fake reads only literal attribute values, not ${value}`)
}

/**
 * What condor_submit checks of a transferred executable (submit.cpp check_sub_file, SFR_EXECUTABLE): that stat
 * finds it and it is not empty; not its execute bit (the job then fails where it runs).
 */
export function checkExecutable(path) {
  if (!existsSync(path)) throw new Error(`Can't access executable file ${path}: No such file or directory`)
  if (statSync(path).size === 0) throw new Error(`Executable file ${path} has zero length`)
}

/**
 * The file checks condor_submit makes only where SUBMIT_SKIP_FILECHECKS is false ($FAKE_CONDOR_SUBMIT_FILECHECKS=1):
 * the default is true (submit.cpp, param_boolean_crufty("SUBMIT_SKIP_FILECHECKS", true)), and then nothing is
 * opened at submit time: a job whose log cannot be written is held when it starts (fake-condor run: code 22).
 */
export function checkWritableDir(path, what) {
  if (process.env.FAKE_CONDOR_SUBMIT_FILECHECKS !== '1') return
  if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) {
    throw new Error(what === 'log' ? `Invalid log file: "${path}" (No such file or directory)` : `Can't open "${path}" for the job's ${what}: no directory ${dirname(path)}`)
  }
}

export function absoluteFrom(dir, path) {
  return isAbsolute(path) ? path : resolve(dir, path)
}

export { join }
