// lib/files/names.ts: the byte forms of the tag and path checks (the query stage's rows, read as raw bytes) say
// exactly what the text checks say of the text the bytes decode to, invalid UTF-8 included.
import t from 'tap'
import { pathProblem, plainPathBytes, plainTagBytes, tagProblem } from '../../lib/files/names.js'
import { seededRandom } from '../demo/random.js'

/** Every byte alone and after a letter or a slash, and random strings drawn mostly from the bytes that matter. */
function candidates(): Buffer[] {
  const out: Buffer[] = [Buffer.alloc(0)]
  for (let byte = 0; byte < 256; byte++) out.push(Buffer.from([byte]), Buffer.from([0x61, byte]), Buffer.from([0x2f, byte]), Buffer.from([byte, 0x61]))
  const interesting = [...Buffer.from('aZ09._+-/ ,"\\\n\r\0\t~'), 0x80, 0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xff]
  const random = seededRandom(26)
  for (let i = 0; i < 20000; i++) {
    const length = 1 + Math.floor(random() * 12)
    const bytes = Array.from({ length }, () => (random() < 0.8 ? interesting[Math.floor(random() * interesting.length)] : Math.floor(random() * 256)))
    // Half of them begin as a tag or a path may, so that both checks take many.
    if (random() < 0.5) bytes[0] = random() < 0.5 ? 0x61 : 0x2f
    out.push(Buffer.from(bytes))
  }
  out.push(Buffer.from('/sphenix/café/日本語.root'), Buffer.from('run3auau_ana509_2025p001_v001'), Buffer.from('../evil'))
  return out
}

t.test('plainTagBytes and plainPathBytes agree with tagProblem and pathProblem on every candidate', async (t) => {
  let tags = 0
  let paths = 0
  const disagree: string[] = []
  for (const bytes of candidates()) {
    const text = bytes.toString('utf8')
    if (plainTagBytes(bytes) !== (tagProblem(text) === undefined)) disagree.push(`tag ${bytes.toString('hex')}`)
    if (plainPathBytes(bytes) !== (pathProblem(text) === undefined)) disagree.push(`path ${bytes.toString('hex')}`)
    if (plainTagBytes(bytes)) tags++
    if (plainPathBytes(bytes)) paths++
  }
  t.same(disagree, [])
  t.ok(tags > 500 && paths > 500 && tags < 15000 && paths < 15000, `both take many candidates and refuse many (${tags} tags, ${paths} paths taken)`)
})

t.test('the byte checks on the cases the stage skips and keeps', async (t) => {
  const tag = (s: string) => plainTagBytes(Buffer.from(s))
  const path = (s: string) => plainPathBytes(Buffer.from(s))
  t.ok(tag('ana509_2025p001_v001') && tag('v1') && tag('A.b+c-d'))
  t.notOk(tag('') || tag('../evil') || tag('_v1') || tag('v 1') || tag('café') || tag('v1\n'))
  t.ok(path('/sphenix/café/日本語.root') && path('/a,b "c".root') && path('/'))
  t.notOk(path('') || path('relative/a.root') || path('/a\nb') || path('/a\r') || path('/a\0b'))
})
