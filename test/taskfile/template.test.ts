import t from 'tap'
import { goQuote, shellQuote } from '../../lib/taskfile/quote.js'
import { parseTemplate, renderTemplate, TemplateError } from '../../lib/taskfile/template.js'
import { formatValue, GoFloat, type Value } from '../../lib/taskfile/value.js'

const scope = (vars: Record<string, Value> = {}) => new Map(Object.entries(vars))
const render = (src: string, vars: Record<string, Value> = {}) => renderTemplate(src, scope(vars))

t.test('fields render their value; a missing one renders nothing (go-task v3 drops "<no value>")', async (t) => {
  t.equal(render('run {{.A}}/{{ .B }}!', { A: 'x', B: 3 }), 'run x/3!')
  t.equal(render('[{{.MISSING}}]'), '[]')
  t.equal(render('{{.T}} {{.F}}', { T: true, F: false }), 'true false')
})

t.test('default replaces empty and missing values, in pipe and call form', async (t) => {
  t.equal(render('{{.X | default "d"}}'), 'd')
  t.equal(render('{{.X | default "d"}}', { X: '' }), 'd')
  t.equal(render('{{.X | default "d"}}', { X: 'set' }), 'set')
  t.equal(render('{{default "d" .X}}', { X: 'set' }), 'set')
  t.equal(render('{{.X | default .Y}}', { Y: 'from-y' }), 'from-y')
  // sprig's empty: 0 and false count as empty too.
  t.equal(render('{{.X | default 4}}', { X: 0 }), '4')
  t.equal(render('{{.X | default "on"}}', { X: false }), 'on')
})

t.test('shellQuote and q quote like mvdan.cc/sh for bash', async (t) => {
  t.equal(render('{{.X | shellQuote}}', { X: 'run3auau' }), 'run3auau')
  t.equal(render('{{.X | q}}', { X: 'a b' }), "'a b'")
  t.equal(shellQuote(''), "''")
  t.equal(shellQuote("it's"), '"it\'s"')
  t.equal(shellQuote('$HOME "x"'), `'$HOME "x"'`)
  t.equal(shellQuote('line\nbreak'), "$'line\\nbreak'")
  t.equal(shellQuote('if'), "'if'")
  t.equal(shellQuote("it's\n"), "$'it\\'s\\n'", "a quote inside $'...' is escaped")
  t.equal(shellQuote('\x01\u200b'), "$'\\x01\\u200b'", 'control and format characters in hex')
})

t.test('quote is Go %q of each argument', async (t) => {
  t.equal(render('{{.X | quote}}', { X: 'say "hi"\n' }), '"say \\"hi\\"\\n"')
  t.equal(goQuote('tab\there'), '"tab\\there"')
  t.equal(goQuote("it's \x01\u200b\\"), '"it\'s \\x01\\u200b\\\\"', 'a single quote stays, the rest escaped as Go does')
  t.equal(render('{{quote .A .B}}', { A: 'a', B: 1 }), '"a" "1"')
})

t.test('literals, parentheses and trim markers', async (t) => {
  t.equal(render('{{"lit"}} {{`raw`}} {{12}} {{1.5}}'), 'lit raw 12 1.5')
  t.equal(render('{{default (default "inner" .A) .B}}'), 'inner')
  t.equal(render('a   {{- "b" -}}   c'), 'abc')
})

t.test('numbers print as Go prints them', async (t) => {
  t.equal(formatValue(new GoFloat(0.5)), '0.5')
  t.equal(formatValue(new GoFloat(1)), '1')
  t.equal(formatValue(new GoFloat(1e6)), '1e+06')
  t.equal(formatValue(500000), '500000')
  t.equal(formatValue(null), '')
})

t.test('an unknown function is an error naming it', async (t) => {
  t.throws(() => parseTemplate('{{.X | upper}}'), new TemplateError('the function "upper" is not supported by this runner (supported: {{.VAR}}, pipes, string/number literals and the functions default, quote, shellQuote, q)'))
})

t.test('if, range, variables, nested fields and comments are rejected', async (t) => {
  for (const src of ['{{if .X}}y{{end}}', '{{range .L}}{{end}}', '{{$x := 1}}', '{{.A.B}}', '{{/* c */}}', '{{.}}', '{{printf "%s" .X}}']) {
    t.throws(() => parseTemplate(src), TemplateError, src)
  }
})

t.test('shellQuote of a non-string is a type error, as in Go', async (t) => {
  t.throws(() => render('{{.N | shellQuote}}', { N: 4 }), /expected string; got int/)
  t.throws(() => render('{{.MISSING | shellQuote}}'), /invalid value; expected string/)
})

t.test('syntax errors are reported', async (t) => {
  t.throws(() => parseTemplate('{{.X'), /unclosed action/)
  t.throws(() => parseTemplate('{{.X | }}'), /missing command/)
  t.throws(() => parseTemplate('{{.X .Y}}'), /non-function/)
})
