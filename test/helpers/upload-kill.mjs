// Loaded into the upload stage by the kill and pause tests only (NODE_OPTIONS=--import <this file>, killUploadAt,
// pauseUploadAt): SIGKILLs the process at one step of its first insert, UPLOAD_KILL_AT="<before|after> <METHOD>
// <path>": "before POST piov" (the payload is in the store), "after POST piov" (the CDB made the payload IOV, caloprod
// has not seen its id), "before PUT piov_attach", "after PUT piov_attach". Or holds it there, UPLOAD_PAUSE_AT="<before|
// after> <METHOD> <path> [n]" (at the n-th such request, default 1): it writes its pid to UPLOAD_PAUSED and waits,
// alive and holding the lock, until the file UPLOAD_GO exists. The production script knows nothing of either: the
// hook wraps node:http's request (lib/cdb/http.ts's client), before any module of the stage is loaded.
import { existsSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { syncBuiltinESMExports } from 'node:module'

/** `at` parsed, and whether a request is the one it names. */
function step(at) {
  const [when, method, path, nth] = at.split(' ')
  let seen = 0
  const hit = (url, options) => {
    const opts = typeof url === 'object' && !(url instanceof URL) ? url : options ?? {}
    const target = url instanceof URL || typeof url === 'string' ? new URL(String(url)) : undefined
    const pathname = (target?.pathname ?? String(opts.path ?? '')).replace(/\?.*/, '')
    return (opts.method ?? 'GET') === method && pathname.endsWith(`/${path}`) && ++seen === Number(nth ?? 1)
  }
  return { when, hit }
}

/** Blocks the whole process (no request, no timer of the stage runs) until UPLOAD_GO exists. */
function pause() {
  writeFileSync(process.env.UPLOAD_PAUSED, String(process.pid))
  const cell = new Int32Array(new SharedArrayBuffer(4))
  while (!existsSync(process.env.UPLOAD_GO)) Atomics.wait(cell, 0, 0, 100)
}

/**
 * Closes `agent`'s idle connections, as a process that waited this long would have (lib/cdb/http.ts closes one idle
 * for IDLE_CONNECTION_MS by a timer, which the block kept from running): else the request after the pause goes on a
 * connection the server has since closed as idle, and is reset.
 */
function closeIdle(agent) {
  for (const sockets of Object.values(agent?.freeSockets ?? {})) for (const socket of sockets) socket.destroy()
}

const kill = process.env.UPLOAD_KILL_AT ? step(process.env.UPLOAD_KILL_AT) : undefined
const hold = process.env.UPLOAD_PAUSE_AT ? step(process.env.UPLOAD_PAUSE_AT) : undefined
if (kill || hold) {
  const request = http.request
  http.request = (url, options, callback) => {
    const killHere = kill?.hit(url, options) ?? false
    const holdHere = hold?.hit(url, options) ?? false
    if (killHere && kill.when === 'before') process.kill(process.pid, 'SIGKILL')
    if (holdHere && hold.when === 'before') {
      pause()
      closeIdle(options?.agent)
    }
    const req = request(url, options, callback)
    if (killHere && kill.when === 'after') req.on('response', () => process.kill(process.pid, 'SIGKILL'))
    if (holdHere && hold.when === 'after') req.on('response', pause)
    return req
  }
  syncBuiltinESMExports()
}
