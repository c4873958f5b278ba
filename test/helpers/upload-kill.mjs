// Loaded into the upload stage by the kill tests only (NODE_OPTIONS=--import <this file>, killUploadAt): SIGKILLs the
// process at one step of its first insert, UPLOAD_KILL_AT="<before|after> <METHOD> <path>": "before POST piov" (the
// payload is in the store), "after POST piov" (the CDB made the payload IOV, caloprod has not seen its id), "before
// PUT piov_attach", "after PUT piov_attach". The production script knows nothing of it.
const at = process.env.UPLOAD_KILL_AT
if (at) {
  const [when, method, path] = at.split(' ')
  const fetch = globalThis.fetch
  globalThis.fetch = async (url, init) => {
    const hit = (init?.method ?? 'GET') === method && new URL(String(url)).pathname.endsWith(`/${path}`)
    if (hit && when === 'before') process.kill(process.pid, 'SIGKILL')
    const response = await fetch(url, init)
    if (hit && when === 'after') process.kill(process.pid, 'SIGKILL')
    return response
  }
}
