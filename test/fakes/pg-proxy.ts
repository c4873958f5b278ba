// A stand-in PostgreSQL endpoint for fault tests: each new connection is either forwarded to a real server
// or answered, after the startup packet, with a FATAL error (as a server starting up, in recovery, full, or
// refusing a password answers), or cut; or forwarded with the server's answer held at one message while the
// test does something to the real server (pg_terminate_backend on the backend), then passed on as it comes.
// The messages are those of PostgreSQL's frontend/backend protocol 3.0 (type byte, then a length that counts
// itself); the hold works on a connection without SSL (PGSSLMODE=disable), whose answer is messages from its
// first byte.
import net from 'node:net'

/**
 * Forward, but at the first message of the server that `at` picks (shown each whole message: its type, e.g. 'T'
 * RowDescription or 'D' DataRow, the message itself, and how many bytes the server sent before it) stop passing
 * the server's bytes on, that message included, until `meanwhile` has settled; then pass on what was held and
 * everything after it.
 */
export interface Hold {
  at: (type: string, message: Buffer, offset: number) => boolean
  /** Told the port the server sees the connection come from (pg_stat_activity's client_port). */
  meanwhile: (clientPort: number) => Promise<void>
}

export type ConnectionPlan = 'forward' | 'cut' | { code: string; message: string } | Hold

export interface PgProxy {
  port: number
  /** How many connections arrived, and what each got. */
  seen: ConnectionPlan[]
  /**
   * Settles once a client has sent `text` on a forwarded connection (a statement's text, within one of its writes),
   * from the proxy's start on.
   */
  clientSent(text: string): Promise<void>
  /** Stops taking connections (a new one is refused, ECONNREFUSED), keeping those it has. */
  stopListening(): Promise<void>
  close(): Promise<void>
}

/** The wire message of a FATAL ErrorResponse. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`)
  const head = Buffer.alloc(5)
  head.write('E', 0)
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

const SSL_REQUEST = 80877103

/** Answers a connection with a FATAL error once its startup packet (after any SSL request) has arrived. */
function refuse(socket: net.Socket, code: string, message: string): void {
  let buffered = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    while (buffered.length >= 8) {
      const length = buffered.readInt32BE(0)
      if (buffered.length < length) return
      const isSsl = length === 8 && buffered.readInt32BE(4) === SSL_REQUEST
      buffered = buffered.subarray(length)
      if (isSsl) socket.write('N')
      else {
        socket.end(errorResponse(code, message))
        return
      }
    }
  })
  socket.on('error', () => {})
}

/** Starts the proxy on a loopback port (default: a free one); `plan(n)` decides what the n-th connection (from 0) gets. */
export async function startPgProxy(
  target: { host: string; port: number },
  plan: (n: number) => ConnectionPlan,
  port = 0,
): Promise<PgProxy> {
  const seen: ConnectionPlan[] = []
  const sockets = new Set<net.Socket>()
  const sent: Buffer[] = []
  const watchers = new Set<{ text: string; resolve: () => void }>()
  const heard = (chunk: Buffer) => {
    sent.push(chunk)
    for (const watcher of watchers) {
      if (!chunk.includes(watcher.text)) continue
      watchers.delete(watcher)
      watcher.resolve()
    }
  }
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const what = plan(seen.length)
    seen.push(what)
    if (what === 'cut') return void socket.destroy()
    if (what !== 'forward' && 'code' in what) return refuse(socket, what.code, what.message)
    const upstream = net.connect(target.port, target.host)
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    socket.pipe(upstream)
    socket.on('data', heard)
    if (what === 'forward') upstream.pipe(socket)
    else holdAt(upstream, socket, what)
    const end = () => (socket.destroy(), upstream.destroy())
    socket.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    clientSent: (text) => new Promise<void>((resolve) => {
      if (sent.some((chunk) => chunk.includes(text))) resolve()
      else watchers.add({ text, resolve })
    }),
    // The listening socket closes at once; the server's 'close' waits for the connections it keeps.
    stopListening: async () => void server.close(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Passes the server's messages on to the client until `hold.at` picks one; see Hold. */
function holdAt(upstream: net.Socket, client: net.Socket, hold: Hold): void {
  let pending = Buffer.alloc(0)
  // Bytes of the server's answer before `pending`.
  let offset = 0
  const scan = (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    let pos = 0
    for (let length; pending.length - pos >= 5 && pending.length - pos >= (length = 1 + pending.readInt32BE(pos + 1)); pos += length) {
      if (!hold.at(String.fromCharCode(pending[pos]), pending.subarray(pos, pos + length), offset + pos)) continue
      upstream.off('data', scan).off('end', ended).pause()
      client.write(pending.subarray(0, pos))
      const held = pending.subarray(pos)
      void hold.meanwhile(upstream.localPort!).finally(() => {
        client.write(held)
        upstream.pipe(client)
      })
      return
    }
    client.write(pending.subarray(0, pos))
    offset += pos
    pending = pending.subarray(pos)
  }
  const ended = () => client.end(pending)
  upstream.on('data', scan).on('end', ended)
}

/** A loopback port with nothing listening, for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
