// Keeps what a person typed as a secret into a URL out of every message and log: its user info, and the value of a
// query parameter that names a password, token or key.

/** A scheme and its `//`, where an authority starts. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//i

/**
 * A query parameter holding a secret (`password=`, `sslpassword=`, `token=`, `access_token=`, `api_key=`, ...) and
 * all that follows it: the secret may hold an unencoded `&`, `#` or space, so nothing after it is shown.
 */
const SECRET_PARAM = /[?&][^=&#]*(?:pass|pwd|token|secret|key|auth|cred)[^=&#]*=/i

/**
 * `text` (one URL, its scheme from `from` on) with what stands between the authority's start and the last `@`
 * replaced by `***`, user name included, and a secret query parameter's value (and the rest) by `***`. A password
 * may hold an unencoded `/`, `@`, `?`, `#` or space, so the last `@` of the whole text ends the user info: an `@`
 * further on (in a path) hides the host too, never less than the password.
 */
function redactFrom(text: string, from: number): string {
  const at = text.lastIndexOf('@')
  const param = SECRET_PARAM.exec(text.slice(from))
  const paramAt = param ? from + param.index : -1
  // The user info would run into the secret parameter (or it into the user info): nothing after the scheme is safe.
  if (param && at >= from && paramAt < at) return `${text.slice(0, from)}***`
  const head = at >= from ? `${text.slice(0, from)}***${text.slice(at, param ? paramAt : undefined)}` : text.slice(0, param ? paramAt : undefined)
  return param ? `${head}${param[0]}***` : head
}

/** A URL for a message or log, its scheme optional (`user:pw@host:8000/api/`), with no user info or secret parameter. */
export function redactUrl(url: string): string {
  return redactFrom(url, SCHEME.exec(url)?.[0].length ?? 0)
}

/** Free text (an argument) with the secrets of the URL it holds hidden, from its first `scheme://` on; unchanged without one. */
export function redactUrls(text: string): string {
  const scheme = SCHEME.exec(text)
  return scheme ? redactFrom(text, scheme.index + scheme[0].length) : text
}
