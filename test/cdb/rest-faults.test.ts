// `check --cdb rest` as cron runs it (tasks/check.ts), against the fake nopayloaddb and each of its faults: one line
// naming the server, the run and what to do, exit 1, process list and cache untouched; and the retries that succeed.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { payloadIovs, type FakeNopayloaddb, type FakeNopayloaddbFaults } from '../fakes/nopayloaddb.mjs'
import { runListCsv } from '../helpers/fake-cdb.js'
import { failedLine, read, RUN_LIST, setup } from '../helpers/rest-check.js'
import { ROOT, runScript, startScript } from '../helpers/run-script.js'

t.test('each fault of the server: one line naming server, run and what to do; nothing written', async (t) => {
  const { server, check, untouched } = await setup(t)
  const prefix = `caloprod check: CDB check failed, nothing was written: nopayloaddb ${server.apiUrl}, `
  const cases: [string, FakeNopayloaddbFaults, string[], RegExp, (s: FakeNopayloaddb) => void][] = [
    ['server down (proxy 503)', { status: 503 }, [], /the list of global tags: answered 503 Service Unavailable: an HTML page "Application is not available" \(tried 2 times\); check the server log/, () => {}],
    ['403', { status: 403, failRun: 66502 }, [], /run 66502: answered 403 Forbidden \(access refused: check the token.*"You do not have permission/, (s) =>
      t.equal(s.requests.filter((r) => r.run === '66502').length, 1, '403: not retried')],
    ['HTML page', { html: true, failRun: 66504 }, [], /run 66504: the answer is an HTML page "Single Sign-On: please log in", not JSON; check that --cdb-url or NOPAYLOADCLIENT_CONF/, () => {}],
    ['truncated body', { truncate: true, failRun: 66501 }, [], /run 66501: the answer was cut short .*\(tried 2 times\); a proxy or the server cut the answer short/, (s) =>
      t.equal(s.requests.filter((r) => r.run === '66501').length, 2, 'truncated: retried')],
    ['hang', { hang: true, failRun: 66504 }, ['--timeout', '2s'], /run 66504: no answer within --timeout 2s for the whole check; the server is slow or stuck/, () => {}],
  ]
  for (const [name, faults, args, message, more] of cases) {
    server.setFaults(faults)
    server.requests.length = 0
    const line = failedLine(t, name, await check(['--cdb-tries', '2', ...args]))
    t.ok(line.startsWith(prefix), `${name}: names the server: ${line}`)
    t.match(line, message, name)
    more(server)
    untouched(t, name)
  }
  server.setFaults({})
})

t.test('500s then success: retried, and the stage goes on as on a clean night', async (t) => {
  const { server, check, paths, root } = await setup(t)
  // The list of global tags, then the 3 runs not settled, 66502 three times.
  server.setFaults({ fail500: 2, failRun: 66502 })
  server.requests.length = 0
  const result = await check(['--verbose'])
  t.equal(result.code, 0, result.stderr)
  t.same(server.requests.map((r) => r.run).sort(), ['66501', '66502', '66502', '66502', '66504', null].sort(), 'the runs not settled, 66502 thrice')
  t.equal(server.requests[0].path, 'globalTags', 'the list of global tags first')
  t.match(result.stderr, /run 66502: try 2 of 3: answered 500 Internal Server Error: an HTML page "Server Error \(500\)"; trying again in/)
  t.match(result.stdout, /^check: 5 runs, 2 settled, 3 asked in 6 requests; 0 to process; .* updated\n$/)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n')
  // Everything settled now: the next night makes no request at all.
  server.requests.length = 0
  const quiet = await check()
  t.match(quiet.stdout, /5 settled, none asked; 0 to process/)
  t.equal(server.requests.length, 0, '0 requests')
  t.ok(root)
})


/** Whether process `pid` is stopped (state T in /proc/PID/stat). */
function stopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T'
}

/**
 * How many connections wait to be accepted by the socket listening on 127.0.0.1:`port` (Linux's /proc/net/tcp: the
 * rx_queue of a listening socket). A queue of backlog 1 is full at 2.
 */
function acceptQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields[1] === local && fields[3] === '0A') return parseInt(fields[4].split(':')[1], 16)
  }
  return 0
}

t.test('a server stopped with SIGSTOP, its listen queue full: the check exits as soon as it has said it failed', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUN_LIST))
  writeFileSync(join(root, 'state.json'), '{"default": "current", "runs": {}}\n')
  const conf = join(root, 'nopayloadclient.json')
  // The fake in a process of its own, to be stopped; its queue of one is full of other clients' connections, so a
  // new connection waits for an answer to its SYN (Django's runserver has a queue of 10).
  const server = spawn(process.execPath, [join(ROOT, 'test/fakes/nopayloaddb.mjs'), '--state', join(root, 'state.json'), '--port', '0', '--backlog', '1', '--conf', conf], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [listening] = (await once(server.stdout!, 'data')) as [Buffer]
  const port = Number(/127\.0\.0\.1:(\d+)\//.exec(listening.toString())![1])
  server.kill('SIGSTOP')
  const others = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => {}))
  t.teardown(() => {
    for (const socket of others) socket.destroy()
    server.kill('SIGCONT')
    server.kill()
  })
  // Waited for, not a fixed time: the server stopped and its queue full (on a busy machine the check's connection
  // could otherwise still find room in the queue, and the test would pass without a connection waiting for its SYN).
  for (let waited = 0; !(stopped(server.pid!) && acceptQueue(port) > 1); waited += 20) {
    if (waited > 10000) throw new Error(`the server is not stopped with a full queue: ${acceptQueue(port)} waiting`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  const { child, done } = startScript('check', ['--cdb', 'rest', '--output', output, '--timeout', '2s'], { NOPAYLOADCLIENT_CONF: conf })
  let saidAt = 0
  child.stderr!.once('data', () => (saidAt = Date.now()))
  const result = await done
  const exitedAt = Date.now()
  t.equal(result.code, 1, result.stderr)
  t.match(result.stderr, /^caloprod check: CDB check failed, nothing was written: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, .*no answer within --timeout 2s/)
  // A connection that waits for its SYN must not hold the process: it did for undici's connect timeout, 10 s.
  t.ok(exitedAt - saidAt < 5000, `exited ${exitedAt - saidAt} ms after saying it failed`)
})

t.test('every run answered 503 at once: one line on stderr, no warning of the listeners waiting to try again', async (t) => {
  let down = false
  const { output, conf, untouched } = await setup(t, {
    'GET payloadiovs/': (ctx) => (down ? { status: 503, type: 'text/html', body: '<title>Service Unavailable</title>' } : payloadIovs(ctx)),
  })
  down = true
  const runs = Array.from({ length: 60 }, (_, i): [number, string] => [67000 + i, 'v8'])
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(runs))
  // As a command: Node prints the warning on the process's stderr.
  const line = failedLine(t, '503s', await runScript('check', ['--cdb', 'rest', '--output', output, '--cdb-tries', '2'], { NOPAYLOADCLIENT_CONF: conf }))
  t.match(line, /run 670\d\d: answered 503 Service Unavailable: an HTML page "Service Unavailable" \(tried 2 times\)/)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUN_LIST))
  untouched(t, '503s')
})
