// What the upload stage needs from its environment: nopayloadclient's configuration (NOPAYLOADCLIENT_CONF: the
// server and the payload store), the shared HTTP client, and the bearer token CALOPROD_CDB_TOKEN (sent when set,
// never logged: the client keeps it out of every message).
import type { Env } from '../config/options.js'
import { cdbRequestOver } from '../cdb/nopayload-write.js'
import { HttpClient } from '../cdb/http.js'
import { NOPAYLOADCLIENT_CONF, readNopayloadConfig } from '../cdb/nopayload-config.js'
import { CaloprodError } from '../errors.js'
import type { Log } from '../log.js'

/** The environment variable holding the token the CDB may require for writes. */
const CDB_TOKEN = 'CALOPROD_CDB_TOKEN'

/**
 * Reads NOPAYLOADCLIENT_CONF and opens the client. `needStore`: acting needs `write_dir`. Throws CaloprodError
 * (one line) when the variable is unset, the file unusable, or write_dir missing.
 */
export async function connectForUpload(env: Env, options: { timeout: number; needStore: boolean; log: Log }) {
  const config = await readNopayloadConfig(env)
  if (!config) {
    throw new CaloprodError(
      `${NOPAYLOADCLIENT_CONF} is not set: upload talks to the CDB through nopayloaddb's REST API; ` +
        "point it at nopayloadclient's configuration file (base_url, api_res, write_dir)",
    )
  }
  const source = `${NOPAYLOADCLIENT_CONF}=${config.file}`
  if (options.needStore && !config.writeDir) {
    throw new CaloprodError(
      `${source} has no write_dir: inserting a payload copies it into that payload store; add write_dir to the file (nothing was uploaded)`,
    )
  }
  const onRetry = (message: string) => options.log.info(message)
  const timeoutMs = Math.min(options.timeout, 300) * 1000
  const client = new HttpClient({ server: config.apiUrl, token: env[CDB_TOKEN] || undefined, timeoutMs, onRetry })
  return { request: cdbRequestOver(client, config.apiUrl), store: { writeDir: config.writeDir ?? '', source } }
}
