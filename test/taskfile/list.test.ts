import t from 'tap'
import { tabwrite } from '../../lib/taskfile/list.js'
import { fixture, task } from './helpers.js'

t.test('-l/--list: tasks with a description, sorted, aligned like go-task\'s tabwriter', async (t) => {
  const r = await task(fixture(t, 'basic'), ['--list'])
  t.equal(r.code, 0)
  t.equal(r.stdout, 'task: Available tasks for this project:\n* default:       Say hello\n* ordered:       Three commands, in order\n')
})

t.test('-a/--list-all: every task but internal ones, with aliases', async (t) => {
  const r = await task(fixture(t, 'basic'), ['-a'])
  t.equal(r.code, 0)
  const names = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(':')[0])
  t.same(names, ['* args', '* default', '* fail', '* in-dir', '* labelled', '* loud', '* ordered', '* quiet', '* specials'])
  t.match(r.stdout, /\* labelled: +\(aliases: lb\)\n/)
})

t.test('--list --silent prints the names only', async (t) => {
  const r = await task(fixture(t, 'basic'), ['--list', '--silent'])
  t.equal(r.stdout, 'default\nordered\n')
})

t.test('--list with no described task says so and exits 1', async (t) => {
  const r = await task(fixture(t, 'deps'), ['--list'])
  t.equal(r.code, 1)
  t.equal(r.stdout, 'task: No tasks with description available. Try --list-all to list all tasks\n')
})

t.test('--summary: name (label), summary text, dependencies, aliases, commands; nothing runs', async (t) => {
  const r = await task(fixture(t, 'basic'), ['--summary', 'labelled'])
  t.equal(r.code, 0)
  t.equal(
    r.stdout,
    'task: lbl-hello\n\nLine one of the summary.\nLine two.\n\ndependencies:\n - ordered\n\naliases:\n - lb\n\ncommands:\n - echo labelled\n - Task: loud\n',
  )
  t.equal(r.stderr, '')
})

t.test('--summary of several tasks separates them; the description stands in for a summary', async (t) => {
  const r = await task(fixture(t, 'basic'), ['--summary', 'default', 'loud'])
  t.equal(r.stdout, 'task: default\n\nSay hello\n\ncommands:\n - echo hello > default.out\n\n\ntask: loud\n\n(task does not have description or summary)\n\ncommands:\n - echo loud\n')
})

t.test('tabwrite aligns a column only over adjacent lines that have it', async (t) => {
  const col0 = (s: string) => s.padEnd('* long-name: '.length + 6)
  t.equal(tabwrite([['* a: ', 'x', '(aliases: b)'], ['* long-name: ', 'y'], ['* c: ', 'zz', '(aliases: d)']]), [
    col0('* a: ') + 'x'.padEnd(1 + 6) + '(aliases: b)',
    col0('* long-name: ') + 'y',
    col0('* c: ') + 'zz'.padEnd(2 + 6) + '(aliases: d)',
  ].join('\n'))
})
