/**
 * postgres.js 3.4.x can throw from a setImmediate after the server closed the connection
 * (`socket.write` on a socket already set to null: porsager/postgres issues #1154 and #1208, fixes not
 * yet released). The query it belonged to has already been rejected with CONNECTION_CLOSED, which our
 * retry handles, so this stray exception is safe to drop; anything else is a real crash.
 */
export function isPostgresNullSocketWrite(err: unknown): boolean {
  return (
    err instanceof TypeError &&
    /reading 'write'|evaluating 'socket\.write'/.test(err.message) &&
    /postgres[/\\]src[/\\]connection\.js/.test(err.stack ?? '')
  )
}
