// `check --cdb rest` as cron runs it (tasks/check.ts), against the fake nopayloaddb and each of its faults: one line
// naming the server, the run and what to do, exit 1, process list and cache untouched; and the retries that succeed.
import t from 'tap'
import type { FakeNopayloaddb, FakeNopayloaddbFaults } from '../fakes/nopayloaddb.mjs'
import { failedLine, read, setup } from '../helpers/rest-check.js'

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
  t.equal(read(paths.process), 'runnumber,tag\n')
  // Everything settled now: the next night makes no request at all.
  server.requests.length = 0
  const quiet = await check()
  t.match(quiet.stdout, /5 settled, none asked; 0 to process/)
  t.equal(server.requests.length, 0, '0 requests')
  t.ok(root)
})

