import { readFile } from 'node:fs/promises'
import type { Env } from '../config/options.js'
import { CaloprodError } from '../errors.js'
import { USER_INFO } from '../config/parse-values.js'
import { redactUrl } from '../redact.js'

/** The environment variable nopayloadclient (and so every sPHENIX program) reads its configuration file from. */
export const NOPAYLOADCLIENT_CONF = 'NOPAYLOADCLIENT_CONF'

/** A file or value under NOPAYLOADCLIENT_CONF that cannot be used: one line naming the file and the key. */
export class NopayloadConfigError extends CaloprodError {
  constructor(file: string, message: string) {
    super(
      `${NOPAYLOADCLIENT_CONF}=${file}: ${message}; fix the file or point ${NOPAYLOADCLIENT_CONF} at another ` +
        "(nopayloadclient's config/default.json shows the keys)",
      1,
    )
  }
}

/**
 * The API root for a base URL and an API path as nopayloadclient joins them: `http://` + base_url + api_res. A
 * base_url that already has a scheme keeps it; the path gets the slashes the endpoints need. Throws Error.
 */
export function apiUrlOf(baseUrl: string, apiRes: string): string {
  const base = /^https?:\/\//i.test(baseUrl) ? baseUrl : `http://${baseUrl}`
  const path = `/${apiRes}/`.replace(/\/{2,}/g, '/')
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`)
  if (url.username || url.password) throw new Error(USER_INFO)
  if (url.search || url.hash) throw new Error(`"${redactUrl(url.href)}" holds a query or fragment`)
  return url.href
}

/**
 * Reads the file named by NOPAYLOADCLIENT_CONF (JSON, as nopayloadclient's config/default.json: `{"base_url":
 * "localhost:8000", "api_res": "/api/cdb_rest/", "write_dir": ...}`); undefined when the variable is unset or empty.
 * Returns the file, `apiUrl` (ending with `/`, what every endpoint's path is appended to), `writeDir` (the payload
 * store insertPayload copies into, optional) and `readDirs` (read_dir_list: the folders nopayloadclient looks for a
 * payload file in, in order; undefined unless a list of strings). Throws NopayloadConfigError for a file that cannot
 * be read or used.
 */
export async function readNopayloadConfig(env: Env) {
  const file = env[NOPAYLOADCLIENT_CONF]
  if (!file) return undefined
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'a directory, not a file' : err.message
    throw new NopayloadConfigError(file, `cannot read it (${why})`)
  })
  let keys: Record<string, unknown>
  try {
    keys = JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>
  } catch (err) {
    throw new NopayloadConfigError(file, `not JSON (${(err as Error).message})`)
  }
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new NopayloadConfigError(file, 'not a JSON object of keys such as "base_url" and "api_res"')
  }
  // A non-empty string, trimmed; without `example`, an optional key.
  const stringKey = (key: string, example?: string): string | undefined => {
    const value = keys[key]
    if (value === undefined && example === undefined) return undefined
    if (value === undefined) throw new NopayloadConfigError(file, `key "${key}" is missing (e.g. "${key}": "${example}")`)
    if (typeof value === 'string' && value.trim() !== '') return value.trim()
    const e = example === undefined ? '' : ` (e.g. "${key}": "${example}")`
    throw new NopayloadConfigError(file, `key "${key}" must be a non-empty string${e}, not ${JSON.stringify(value)}`)
  }
  const baseUrl = stringKey('base_url', 'localhost:8000')!
  const apiRes = stringKey('api_res', '/api/cdb_rest/')!
  let apiUrl: string
  try {
    apiUrl = apiUrlOf(baseUrl, apiRes)
  } catch (err) {
    const message = (err as Error).message
    const why = message === USER_INFO ? `key "base_url" ${USER_INFO}` : `keys "base_url" and "api_res" do not make a URL (${message})`
    throw new NopayloadConfigError(file, why)
  }
  const dirs = keys.read_dir_list
  const readDirs = Array.isArray(dirs) && dirs.every((dir) => typeof dir === 'string') ? (dirs as string[]) : undefined
  return { file, apiUrl, writeDir: stringKey('write_dir'), readDirs }
}
