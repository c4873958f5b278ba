// An append-only ledger is read a chunk at a time (eachAppendOnly): memory holds a chunk, not a year of the ledger,
// and the rows, the torn tail and the first error are exactly those of the whole text read at once, as it was before:
// textShapeProblem, the header, then parseTable (the reference below), wherever the chunks happen to end.
import { execFile } from 'node:child_process'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { InputError } from '../../lib/errors.js'
import { readAppendOnly } from '../../lib/files/append-only.js'
import { parseTable, textShapeProblem, type Table } from '../../lib/files/csv.js'
import { PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { appendUploads, uploadKey, type UploadRow } from '../../lib/upload/ledger.js'
import { ROOT } from '../helpers/run-script.js'

const TABLE: Table<string[]> = {
  columns: ['a', 'b', 'c'],
  toFields: (row) => row,
  fromFields(fields) {
    if (fields[0] === 'bad') throw new Error('a is "bad"')
    return [...fields]
  },
}

/** How a ledger read before it was read in chunks: the whole text, its shape, its header, then parseTable. */
function readWhole(path: string): { rows: string[][]; tornTail: boolean } {
  const text = readFileSync(path, 'utf8')
  const header = TABLE.columns.join(',')
  const shape = textShapeProblem(text, { header, emptyOk: true, tornTailOk: true })
  if (shape) throw new InputError(path, shape.line, shape.message)
  const end = text.lastIndexOf('\n') + 1
  const first = text.slice(0, text.indexOf('\n') + 1)
  if (end === 0) return { rows: [], tornTail: end < text.length }
  if (first !== `${header}\n`) throw new InputError(path, 1, `header is "${first.trim()}", expected "${header}"`)
  return { rows: parseTable(text.slice(0, end), path, TABLE), tornTail: end < text.length }
}

const outcome = async (read: () => unknown) => {
  try {
    return { value: await read() }
  } catch (err) {
    return { error: err instanceof InputError ? err.message : `not an InputError: ${String(err)}` }
  }
}

/** A ledger of about `bytes`: plain lines, quoted fields, fields across lines, characters of 2 to 4 bytes. */
function ledgerLines(bytes: number, next: (n: number) => number): string[] {
  const lines: string[] = []
  for (let size = 0, i = 0; size < bytes; size += lines[lines.length - 1]!.length, i++) {
    const kind = next(20)
    if (kind < 12) lines.push(`${i},word ${next(1000)} é😀,${'z'.repeat(next(200))}\n`)
    else if (kind < 16) lines.push(`${i},"a, ""quoted"" field",ü\n`)
    else if (kind < 19) lines.push(`${i},"over\n${'two'.repeat(next(50))}\nlines",€\n`)
    else lines.push(`${i},"${'long '.repeat(next(3000))}",\n`)
  }
  return lines
}

const random = (seed: number) => (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)

t.test('rows and torn tail as the whole text reads them, across chunks, a record longer than a chunk among them', async (t) => {
  const dir = t.testdir()
  for (let seed = 1; seed <= 4; seed++) {
    const next = random(seed)
    const lines = ledgerLines(1_500_000, next)
    // A field of 700 KB across lines: longer than the first buffer and than half the next.
    lines.splice(next(lines.length), 0, `big,"${'x'.repeat(700_000)}\n${'y'.repeat(next(10))}",end\n`)
    const path = join(dir, `l${seed}.csv`)
    writeFileSync(path, `a,b,c\n${lines.join('')}${seed % 2 ? '9,torn "' : ''}`)
    const whole = readWhole(path)
    t.equal(whole.rows.length, lines.length, `seed ${seed}: ${lines.length} rows`)
    t.same(await readAppendOnly(path, TABLE), whole, `seed ${seed}`)
  }
})

t.test('the first error as the whole text gives it, wherever the damage is: a carriage return anywhere before all else', async (t) => {
  const dir = t.testdir()
  const damages: [string, (line: string) => string][] = [
    ['a bad row', (line) => `bad,1,2\n${line}`],
    ['two fields', (line) => `1,2\n${line}`],
    ['a quote inside a field', (line) => `1,a"b,c\n${line}`],
    ['a quote that does not close', (line) => `1,"abc,c\n${line}`],
    ['a closing quote followed by a letter', (line) => `1,"abc"d,c\n${line}`],
    ['a CRLF line end', (line) => line.replace(/\n$/, '\r\n')],
    ['a lone carriage return', (line) => `\r${line}`],
    ['an empty line', (line) => `\n${line}`],
  ]
  let errors = 0
  for (let seed = 1; seed <= 60; seed++) {
    const next = random(seed)
    const lines = ledgerLines(700_000, next)
    const kinds: string[] = []
    for (let k = 1 + next(2); k > 0; k--) {
      const [kind, damage] = damages[next(damages.length)]!
      const at = next(lines.length)
      lines[at] = damage(lines[at]!)
      kinds.push(`${kind} at row ${at}`)
    }
    const start = next(10) === 0 ? 'a,b\n' : next(10) === 0 ? '\ufeffa,b,c\n' : 'a,b,c\n'
    const path = join(dir, 'l.csv')
    writeFileSync(path, `${start}${lines.join('')}`)
    const whole = await outcome(() => readWhole(path))
    if (whole.error) errors++
    t.same(await outcome(() => readAppendOnly(path, TABLE)), whole, `seed ${seed}: ${JSON.stringify(start)}, ${kinds.join(', ')}`)
  }
  t.ok(errors > 50, `${errors} of 60 damaged ledgers fail`)
  // Each damage in the first chunk with a carriage return chunks after it, and the other way round.
  for (const [kind, damage] of damages) {
    for (const [early, late] of [[damage, damages[5]![1]], [damages[5]![1], damage]]) {
      const lines = ledgerLines(700_000, random(kind.length))
      lines[10] = early(lines[10]!)
      lines[lines.length - 10] = late(lines[lines.length - 10]!)
      const path = join(dir, 'l.csv')
      writeFileSync(path, `a,b,c\n${lines.join('')}`)
      const whole = await outcome(() => readWhole(path))
      t.match(whole, { error: /l\.csv:\d+: has Windows \(CRLF\) line ends/ }, 'the carriage return is the error')
      t.same(await outcome(() => readAppendOnly(path, TABLE)), whole, `${kind} early or late, a CRLF line end the other`)
    }
  }
  writeFileSync(join(dir, 'l.csv'), `a,b\n${ledgerLines(700_000, random(1)).join('')}\r\n`)
  t.match(await outcome(() => readAppendOnly(join(dir, 'l.csv'), TABLE)), { error: /:\d{4,}: has Windows \(CRLF\)/ }, 'a wrong header, a CRLF at the end')
})

t.test('a ledger read in chunks: status reads 64 MB of uploads.csv on a heap of 32 MB, which the whole text does not fit in', async (t) => {
  const path = join(t.testdir(), 'uploads.csv')
  const rows: UploadRow[] = Array.from({ length: 2000 }, (_, i) => ({
    time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), runnumber: 68000 + (i % 40), tag: 'new_newcdbtag_v008',
    type: PAYLOAD_TYPES[i % PAYLOAD_TYPES.length]!, globalTag: 'newcdbtag', state: 'uploaded', checksum: 'ab'.repeat(16), piov: 1000 + i,
    url: `http://cdb.example/api/cdb_rest/payloadiov/${i}/run_${68000 + (i % 40)}.root`,
    detail: i % 10 === 0 ? 'POST piov answered 400: {"detail": "locked"}' : 'uploaded',
  }))
  await appendUploads(path, rows)
  const text = readFileSync(path)
  const body = text.subarray(text.indexOf(0x0a) + 1)
  for (let size = text.length; size < 64e6; size += body.length) appendFileSync(path, body)
  const payloads = new Set(rows.map(uploadKey)).size
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--max-old-space-size=32', '--import', 'tsx', join(ROOT, 'test', 'helpers', 'latest-uploads-count.ts'), path,
  ], { cwd: ROOT })
  t.equal(stdout, `${payloads}\n`, 'the latest row of each payload, every row read')
})
