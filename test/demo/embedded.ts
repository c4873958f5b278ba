import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/** An in-process PostgreSQL (PGlite) served on a loopback port, for the demo and for tests without a server. */
export interface EmbeddedPostgres {
  host: string
  port: number
  /** A URL any PostgreSQL client (postgres.js, the stage scripts' --db-url) connects to. */
  url: string
  stop(): Promise<void>
}

/**
 * Starts PGlite in memory and serves it on 127.0.0.1 on a free port. It has one database; every
 * database name in a URL reaches it. Takes a few seconds to start.
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const db = await PGlite.create()
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 })
  // PGlite has one session, which every connection shares: what a client sets for its session (the query stage
  // makes its own read-only, with a statement timeout) would outlive its connection and reach the next client's,
  // as it never does on a real server. So each connection's end resets the session.
  const seen = new WeakSet<EventTarget>()
  server.addEventListener('connection', () => {
    for (const handler of (server as unknown as { handlers: Set<EventTarget> }).handlers) {
      if (seen.has(handler)) continue
      seen.add(handler)
      for (const end of ['close', 'error']) handler.addEventListener(end, () => void db.exec('RESET ALL').catch(() => {}))
    }
  })
  await server.start()
  const [host, port] = server.getServerConn().split(':')
  return {
    host,
    port: Number(port),
    url: `postgres://postgres@${host}:${port}/FileCatalog`,
    async stop() {
      await server.stop()
      await db.close()
    },
  }
}
