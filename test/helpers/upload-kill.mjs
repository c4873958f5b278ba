// Loaded into the upload stage by the kill tests only (NODE_OPTIONS=--import <this file>, killUploadAt): SIGKILLs the
// process at one step of its first insert, UPLOAD_KILL_AT="<before|after> <METHOD> <path>": "before POST piov" (the
// payload is in the store), "after POST piov" (the CDB made the payload IOV, caloprod has not seen its id), "before
// PUT piov_attach", "after PUT piov_attach". The production script knows nothing of it: the hook wraps node:http's
// request (lib/cdb/http.ts's client), before any module of the stage is loaded.
import http from 'node:http'
import { syncBuiltinESMExports } from 'node:module'

const at = process.env.UPLOAD_KILL_AT
if (at) {
  const [when, method, path] = at.split(' ')
  const request = http.request
  http.request = (url, options, callback) => {
    const opts = typeof url === 'object' && !(url instanceof URL) ? url : options ?? {}
    const target = url instanceof URL || typeof url === 'string' ? new URL(String(url)) : undefined
    const pathname = (target?.pathname ?? String(opts.path ?? '')).replace(/\?.*/, '')
    const hit = (opts.method ?? 'GET') === method && pathname.endsWith(`/${path}`)
    if (hit && when === 'before') process.kill(process.pid, 'SIGKILL')
    const req = request(url, options, callback)
    if (hit && when === 'after') req.on('response', () => process.kill(process.pid, 'SIGKILL'))
    return req
  }
  syncBuiltinESMExports()
}
