import { readFileSync } from 'node:fs'

/** The fields of one `.pgpass` line: host:port:database:user:password, each possibly `*`. */
function splitLine(line: string): string[] {
  const fields: string[] = []
  let current = ''
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '\\' && i + 1 < line.length) current += line[++i]
    else if (c === ':') {
      fields.push(current)
      current = ''
    } else current += c
  }
  fields.push(current)
  return fields
}

/**
 * Looks a password up in a libpq password file, as libpq does (postgres.js does not read it):
 * the first line whose four fields match, `*` matching anything. Unreadable files give undefined.
 */
export function pgpassLookup(
  file: string,
  want: { host: string; port: number; database: string; user: string },
): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const [host, port, database, user, password] = splitLine(line)
    if (password === undefined) continue
    const matches = (pattern: string, value: string) => pattern === '*' || pattern === value
    if (
      matches(host, want.host) &&
      matches(port, String(want.port)) &&
      matches(database, want.database) &&
      matches(user, want.user)
    ) return password
  }
  return undefined
}
