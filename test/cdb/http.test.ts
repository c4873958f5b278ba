// The HTTP client of lib/cdb/http.ts against the fake nopayloaddb (test/fakes/nopayloaddb.mjs) and its faults.
import { getEventListeners } from 'node:events'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { HttpClient, HttpError, IDLE_CONNECTION_MS, type HttpClientOptions } from '../../lib/cdb/http.js'
import { startFakeNopayloaddb, type FakeNopayloaddbFaults } from '../fakes/nopayloaddb.mjs'
import { meeting } from '../helpers/meeting.js'

const QUERY = 'payloadiovs/?gtName=newcdbtag&majorIOV=0&minorIOV=66500'

async function fake(t: Test, faults: FakeNopayloaddbFaults = {}) {
  const server = await startFakeNopayloaddb({ faults })
  t.teardown(() => server.close())
  return server
}

// A time limit that is only a safety net, 10 s: a busy machine that holds this process for a while must not turn an
// answer into a timeout (tried again, and the requests counted below would be one more).
const client = (server: string, more: Partial<HttpClientOptions> = {}) =>
  new HttpClient({ server, timeoutMs: 10000, attempts: 3, retryBaseMs: 1, retryMaxMs: 5, ...more })

async function failure(t: Test, promise: Promise<unknown>): Promise<HttpError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.type(err, HttpError)
  return err as HttpError
}

t.test('a whole answer comes back as text; the path without its slash is a redirect, not followed', async (t) => {
  const server = await fake(t)
  const http = client(server.apiUrl)
  const answer = await http.get(`${server.apiUrl}${QUERY}`, 'run 66500')
  t.equal(answer.status, 200)
  t.match(answer.body, /^\[\[/)
  const err = await failure(t, http.get(`${server.apiUrl}payloadiovs?gtName=newcdbtag&majorIOV=0&minorIOV=66500`, 'run 66500'))
  t.equal(err.failure, 'redirect')
  t.match(err.message, /run 66500: answered 301 .*trailing slash/)
  t.equal(server.requests.length, 2, 'a redirect is not retried')
})

t.test('500s then success: retried; 403: not retried; 429 retried', async (t) => {
  const server = await fake(t, { fail500: 2 })
  const retries: string[] = []
  const http = client(server.apiUrl, { onRetry: (m) => void retries.push(m) })
  t.equal((await http.get(`${server.apiUrl}${QUERY}`, 'run 66500')).status, 200)
  t.equal(server.requests.length, 3)
  t.equal(retries.length, 2)
  t.match(retries[0], /run 66500: try 1 of 3: answered 500 .*Server Error \(500\)/)

  server.setFaults({ status: 403 })
  const err = await failure(t, http.get(`${server.apiUrl}${QUERY}`, 'run 66500'))
  t.equal(server.requests.length, 4, 'one try only')
  t.match(err.message, new RegExp(`^nopayloaddb ${server.apiUrl}, run 66500: answered 403 Forbidden \\(access refused`))
  t.match(err.message, /You do not have permission/)

  server.setFaults({ status: 429 })
  const busy = await failure(t, http.get(`${server.apiUrl}${QUERY}`, 'run 66500'))
  t.equal(server.requests.length, 7, 'three tries')
  t.match(busy.message, /answered 429 Too Many Requests.*\(tried 3 times\)/)
})

t.test('connection refused, DNS failure, hang, truncated body: each named, with what to do', async (t) => {
  const closed = await fake(t)
  const deadUrl = closed.apiUrl
  await closed.close()
  const refused = await failure(t, client(deadUrl).get(`${deadUrl}${QUERY}`, 'run 66500'))
  t.equal(refused.failure, 'refused')
  t.match(refused.message, /run 66500: connection refused .*\(tried 3 times\); check that nopayloaddb is up/)

  const dns = await failure(t, client('http://cdb.caloprod.invalid/api/').get(`http://cdb.caloprod.invalid/api/${QUERY}`, 'run 66500'))
  t.equal(dns.failure, 'dns')
  t.match(dns.message, /^nopayloaddb http:\/\/cdb\.caloprod\.invalid\/api\/, run 66500: the host name does not resolve/)

  const hanging = await fake(t, { hang: true })
  const start = Date.now()
  const hang = await failure(t, client(hanging.apiUrl, { timeoutMs: 200, attempts: 2 }).get(`${hanging.apiUrl}${QUERY}`, 'run 66500'))
  t.equal(hang.failure, 'timeout')
  t.match(hang.message, /no answer within 0\.2 s \(tried 2 times\).*check that nopayloaddb is healthy/)
  t.ok(Date.now() - start < 10000, 'within 2 tries of 0.2 s, not of the default 10 s')

  const cut = await fake(t, { truncate: true })
  const truncated = await failure(t, client(cut.apiUrl).get(`${cut.apiUrl}${QUERY}`, 'run 66500'))
  t.equal(truncated.failure, 'truncated')
  t.match(truncated.message, /the answer was cut short/)
  t.equal(cut.requests.length, 3, 'retried')
})

t.test('at most maxInFlight requests at once, over reused connections; the token is sent, never shown', async (t) => {
  let inFlight = 0
  let most = 0
  const sockets = new Set<unknown>()
  const auth: string[] = []
  // Each answer waits until 3 requests were once in flight together (10 s at most), then 20 ms more, a fourth's chance
  // to come: requests sent at once that a busy machine delivers more than 20 ms apart still meet.
  const three = meeting(3)
  const server: Server = createServer((req, res) => {
    sockets.add(req.socket)
    auth.push(String(req.headers.authorization))
    inFlight++
    most = Math.max(most, inFlight)
    three.arrived(inFlight)
    void three.met.then(() => setTimeout(() => {
      inFlight--
      res.writeHead(req.url?.includes('denied') ? 401 : 200, { 'content-type': 'application/json' }).end('[]')
    }, 20))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.closeIdleConnections?.()
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const http = client(url, { maxInFlight: 3, token: 's3cret-token' })
  await Promise.all(Array.from({ length: 30 }, (_, i) => http.get(`${url}?n=${i}`, `run ${i}`)))
  t.equal(most, 3)
  // undici returns a connection to its pool a moment after the body ends, so a few more than 3 may open.
  t.ok(sockets.size <= 10, `connections reused: ${sockets.size} for 30 requests`)
  t.ok(auth.every((a) => a === 'Bearer s3cret-token'))
  const err = await failure(t, http.get(`${url}denied`, 'run 1'))
  t.notMatch(err.message, /s3cret/)
  t.match(err.message, /answered 401 .*check the token/)
  server.closeAllConnections()
})

t.test('an outer abort stops a request at once, without retries', async (t) => {
  const hanging = await fake(t, { hang: true })
  const controller = new AbortController()
  const http = client(hanging.apiUrl, { timeoutMs: 10000, signal: controller.signal })
  // Abort once the server holds the request (a fixed delay lost the race on a busy machine: nothing had arrived).
  const abortWhenArrived = async () => {
    for (let waited = 0; hanging.requests.length === 0 && waited < 10000; waited += 5) await new Promise((r) => setTimeout(r, 5))
    controller.abort()
  }
  void abortWhenArrived()
  const err = await failure(t, http.get(`${hanging.apiUrl}${QUERY}`, 'run 66500'))
  t.equal(err.failure, 'aborted')
  t.equal(hanging.requests.length, 1)
})

t.test('a connection idle for longer than IDLE_CONNECTION_MS is not reused: a POST after a pause is not reset by a server that closed it', async (t) => {
  // A server whose keep-alive timeout has run out as the next request comes: it answers the first request of each
  // connection and resets the connection on any later one (as a request written just as the server closes is).
  let connections = 0
  const server = createTcpServer((socket) => {
    connections++
    let requests = 0
    socket.on('data', (chunk) => {
      requests += chunk.toString('latin1').split(' HTTP/1.1\r\n').length - 1
      if (requests > 1) return void socket.resetAndDestroy()
      if (requests === 1 && chunk.includes('\r\n\r\n')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n[]')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => void server.close())
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/cdb_rest/`
  const http = client(apiUrl, { attempts: 1 })
  t.equal((await http.get(`${apiUrl}${QUERY}`, 'run 66500')).status, 200)
  // Longer idle than the client keeps a connection for: node's timers run in order, so its close comes first.
  await sleep(IDLE_CONNECTION_MS + 500)
  const posted = await http.request('POST', `${apiUrl}piov/`, { what: 'a payload IOV', json: { payload_url: 'x' } })
  t.equal(posted.status, 200, 'answered, on a new connection')
  t.equal(connections, 2)
})

t.test('finished requests leave nothing on the signal the client is given, nor on the signals it combines', async (t) => {
  const server = await fake(t)
  const controller = new AbortController()
  // As the check's outage guard gives it: a signal combining others (AbortSignal.any).
  const signal = AbortSignal.any([controller.signal])
  const http = client(server.apiUrl, { signal })
  for (let i = 0; i < 20; i++) await http.get(`${server.apiUrl}${QUERY}`, 'run 66500')
  t.equal(getEventListeners(signal, 'abort').length, 0, 'no listener left on the client\'s signal')
  // Node 20's AbortSignal.any keeps each signal it makes in a Set of each source signal (a symbol of Node's own) until
  // that source aborts, and a scavenge keeps them alive: a campaign night's 12,000 requests' signals were promoted to
  // the old generation (docs/speed.md, "check's peak memory"). Only the client's own signal may be there.
  // Should a later Node keep them otherwise, this says so rather than pass without looking.
  const dependants = Object.getOwnPropertySymbols(controller.signal).find((s) => s.description === 'kDependantSignals')
  t.ok(dependants, `this Node (${process.version}) keeps AbortSignal.any's signals under kDependantSignals`)
  const held = dependants && (controller.signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants]
  t.equal(held?.size, 1, 'no signal of a request among the dependants of the signals combined')
})

t.test("the server's words quoted in a message are one line: a JSON detail's or an HTML title's line breaks as spaces", async (t) => {
  const answers = [
    { type: 'application/json', body: JSON.stringify({ detail: 'duplicate key value violates unique constraint\nDETAIL:  Key (id)=(7) already exists.' }) },
    { type: 'text/html', body: '<html><head><title>Server\r\nError\n66500 all current</title></head></html>' },
  ]
  const server: Server = createServer((_, res) => {
    const answer = answers.shift()!
    res.writeHead(400, { 'content-type': answer.type }).end(answer.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const http = client(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`)
  const json = await failure(t, http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/x`, 'run 66500'))
  t.match(json.message, /run 66500: answered 400 Bad Request: "duplicate key value violates unique constraint DETAIL: Key \(id\)=\(7\) already exists\."; /)
  const html = await failure(t, http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/x`, 'run 66500'))
  t.match(html.message, /run 66500: answered 400 Bad Request: an HTML page "Server Error 66500 all current"; /)
  for (const err of [json, html]) t.notMatch(err.message, /[\r\n]/, 'one line')
})
