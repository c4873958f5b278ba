import { readFileSync } from 'node:fs'

/** The fields of one `.pgpass` line, split at each `:`; a backslash takes the next character as it is. */
function splitLine(line: string): string[] {
  const fields = ['']
  for (let i = 0; i < line.length; i++) {
    if (line[i] === ':') fields.push('')
    else fields[fields.length - 1] += line[i] === '\\' && i + 1 < line.length ? line[++i] : line[i]
  }
  return fields
}

/**
 * Looks a password up in a libpq password file, as libpq does (postgres.js does not read it): the first line
 * `host:port:database:user:password` whose four fields match, `*` matching anything. Unreadable files give undefined.
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
  const wanted = [want.host, String(want.port), want.database, want.user]
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const fields = splitLine(line)
    if (fields.length >= 5 && wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4]
  }
  return undefined
}
