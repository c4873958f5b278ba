import t from 'tap'
import { ExactJsonError, formatExactJson, parseExactJson } from '../../lib/cdb/exact-json.js'

t.test('integers come back exact as bigint, fractions as numbers; strings, lists and objects as JSON.parse gives them', async (t) => {
  t.same(parseExactJson('[9223372036854775807, -3, 0, 1.5, 2e3, "a\\"b\\u00e9", true, null, {"k": []}]'), [
    9223372036854775807n, -3n, 0n, 1.5, 2000, 'a"bé', true, null, { k: [] },
  ])
  t.equal(parseExactJson(' 66500 '), 66500n, 'whitespace around a value')
})

t.test('text that is not JSON names the character where it stops being JSON', async (t) => {
  t.throws(() => parseExactJson('[1, 2'), { name: 'ExactJsonError', position: 5, message: 'the text ends where "," or "]" should follow at character 6' })
  t.throws(() => parseExactJson('<html>'), /unexpected "<", expected a value at character 1/)
  t.throws(() => parseExactJson('[1] x'), ExactJsonError, 'nothing may follow the value')
  t.throws(() => parseExactJson('01'), ExactJsonError, 'no leading zero')
})

t.test('formatExactJson writes a parsed value back as JSON, bigints as their digits (JSON.stringify throws on them)', async (t) => {
  const text = '{"id":null,"n":9223372036854775807,"list":[-1,2.5,"\\u0000 1"],"s":"x"}'
  const value = parseExactJson(text)
  t.throws(() => JSON.stringify(value), TypeError, 'what the messages used to do')
  t.equal(formatExactJson(value), text)
  t.same(parseExactJson(formatExactJson(value)), value, 'round trip')
})
