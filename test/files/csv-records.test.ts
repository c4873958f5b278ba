// parseRecords splits a line without quotes itself and gives csv-parse only the records with a quote: the records,
// their lines and the first error must be exactly csv-parse's over the whole text (csvParseRecords, what parseRecords
// did before it split quote-free lines itself), whatever the text.
import t from 'tap'
import { csvParseRecords, parseRecords } from '../../lib/files/csv.js'
import { InputError } from '../../lib/errors.js'

/** A small deterministic generator (mulberry32), so a failure names a seed that repeats it. */
function random(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Fields as a ledger holds them, then quoted ones that are valid, then broken ones. */
const PLAIN = ['plain', '', '68001', 'two words', '2026-12-07T02:00:00Z']
const QUOTED = ['"quoted, with a comma"', '"say ""this"""', '"across\nlines"', '""', '"a\n\nb"', '"x""\n""y"', '"POST piov answered 400: {""detail"": ""locked""}"']
const BROKEN = ['stray"quote', '"closed"then', '"never closed', ' "space first"', '{"detail": 1}']

/** A CSV text of a few lines, most of them well formed, some broken the ways an editor or a crash breaks them. */
function textOf(next: () => number): string {
  const lines: string[] = []
  const count = 1 + Math.floor(next() * 8)
  for (let i = 0; i < count; i++) {
    if (next() < 0.08) {
      lines.push('')
      continue
    }
    const width = 1 + Math.floor(next() * 4)
    // Mostly the fields a ledger holds; now and then one with quotes, line breaks, or bad quoting.
    const among = (fields: readonly string[]) => fields[Math.floor(next() * fields.length)]!
    const pick = () => {
      const r = next()
      return among(r < 0.75 ? PLAIN : r < 0.97 ? QUOTED : BROKEN)
    }
    lines.push(Array.from({ length: width }, pick).join(','))
  }
  return lines.join('\n') + (next() < 0.85 ? '\n' : '')
}

const outcome = (read: () => { fields: string[]; line: number }[]) => {
  try {
    return { records: read() }
  } catch (err) {
    return { error: err instanceof InputError ? err.message : `not an InputError: ${(err as Error).message}` }
  }
}

t.test('records and lines equal csv-parse read whole on 3000 random texts, and so does the first error', async (t) => {
  let quoted = 0
  let broken = 0
  for (let seed = 1; seed <= 3000; seed++) {
    const text = textOf(random(seed))
    const got = outcome(() => parseRecords(text, 'x.csv'))
    const want = outcome(() => csvParseRecords(text, 'x.csv', 1))
    if (text.includes('"')) quoted++
    if ('error' in want) broken++
    // One assertion per difference only: 3000 passing ones would drown the output.
    if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `seed ${seed}: ${JSON.stringify(text)}`)
  }
  t.ok(quoted > 1000 && broken > 100, `the texts exercise quotes (${quoted}) and broken quoting (${broken})`)
})

t.test('a broken record is named by the line csv-parse names, wherever it sits among quote-free lines', async (t) => {
  const head = 'time,runnumber,tag\n2026-01-01T00:00:00Z,68001,a\n'
  t.throws(() => parseRecords(`${head}2026,68002,b"c\n2026,68003,d\n`, 'l.csv'), /l\.csv:3: is not valid CSV: field 3 has a quote but does not start with one/)
  t.throws(() => parseRecords(`${head}2026,"68002\n2026,68003,d\n`, 'l.csv'), /l\.csv:3: is not valid CSV: a quoted field that starts here does not close/)
  t.throws(() => parseRecords(`${head}2026,"68002"x,b\n`, 'l.csv'), /l\.csv:3: is not valid CSV: a closing quote in field 2 is followed by "x"/)
  t.same(parseRecords(`${head}"2026","a\nb",c\n2026,68004,e\n`, 'l.csv').map((r) => r.line), [1, 2, 3, 5], 'a record across two lines: the next starts two lines on')
  t.same(parseRecords('a,b\nc', 'l.csv', 10), [{ fields: ['a', 'b'], line: 10 }, { fields: ['c'], line: 11 }], 'counted from firstLine, no newline at the end')
})
