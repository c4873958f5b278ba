import { spawnSync } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { classAdString, condorArguments, macroValueProblem, submitLiteral, submitValueProblem } from '../../lib/condor/quote.js'
import { formatJobsList } from '../../lib/condor/jobs-list.js'
import { fakeCondor, fakeCondorEnv, fakeCondorLib, FAKES, readFakeState } from '../helpers/fake-condor.js'

const { expandMacros, parseConstraint, parseLiteral, parseNewArguments } = fakeCondorLib

t.test('arguments follow the new syntax of the HTCondor manual', async (t) => {
  t.equal(condorArguments(['3', 'simple', 'arguments']), `"'3' 'simple' 'arguments'"`)
  // The manual's example: one "two" 'spacey ''quoted'' argument'
  t.equal(condorArguments(['one', '"two"', "spacey 'quoted' argument"]), `"'one' '""two""' 'spacey ''quoted'' argument'"`)
  t.equal(condorArguments(['/a b', { macro: 'input_run' }]), `"'/a b' '$(input_run)'"`)
  t.equal(condorArguments(['cost $5']), `"'cost $(DOLLAR)5'"`, 'a $ is never read as a macro')
  t.throws(() => condorArguments(['two\nlines']), /line break/)
})

t.test('what condorArguments writes, condor_submit reads back unchanged (the fake follows the manual)', async (t) => {
  const nasty = ['plain', 'with space', "it's", 'say "hi"', "'both' \"kinds\"", 'tab\there', '$HOME', '$(NOT_A_MACRO)', '$$x', '$$', '', '  padded  ', '\\back\\slash', 'ünïcode ✓']
  const text = condorArguments(nasty)
  t.same(parseNewArguments(expandMacros(text, {})), nasty)
  const list = '/data/run 5 $x/68006_tag.list'
  t.same(parseNewArguments(expandMacros(condorArguments(['bin', { macro: 'input_run' }]), { input_run: list })), ['bin', list])
})

t.test('a macro value that would break the arguments is refused, with the reason', async (t) => {
  t.equal(macroValueProblem('/out dir $x/68006_t.list'), undefined, 'spaces and a lone $ pass')
  t.match(macroValueProblem("/o'neil/a.list"), /quote/)
  t.match(macroValueProblem('/a"b/a.list'), /quote/)
  t.match(macroValueProblem('/a$(b)/a.list'), /expand/)
  t.match(macroValueProblem('/a$ENV(b)/a.list'), /expand/)
  t.match(macroValueProblem('/a\nb'), /line break/)
  t.match(submitValueProblem('/a/b '), /white space/)
  // What condor_submit leaves as $$(…) the schedd expands in every attribute when the job is matched (qmgmt.cpp
  // dollarDollarExpand, htcondor 7491a145): $(DOLLAR)$(DOLLAR)( comes out as $$( all the same.
  t.match(submitValueProblem('/opt/a$$(Name)/bin'), /holds "\$\$\(", which HTCondor expands when the job is matched/)
  t.match(submitValueProblem('/logs$$([1+1])'), /\$\$\(/)
  t.match(macroValueProblem('/o$$(Name)/a.list'), /expand/)
  t.throws(() => condorArguments(['/opt/a$$(Name)/bin']), /holds "\$\$\(", which HTCondor expands when the job is matched/)
  t.equal(submitValueProblem('/opt/a$$b/$x(c)'), undefined, 'a $$ or $x( that is not $$( passes')
  t.equal(submitValueProblem('/a b/c'), undefined)
})

t.test('ClassAd strings escape backslash and quote; a submit file writes $ as $(DOLLAR)', async (t) => {
  const value = '/out "q" \\ $x'
  t.equal(classAdString(value), '"/out \\"q\\" \\\\ $x"')
  t.equal(parseLiteral(expandMacros(submitLiteral(classAdString(value)), {})), value)
  t.equal(parseConstraint(`CaloprodOutput =?= ${classAdString(value)}`)({ CaloprodOutput: value }), true)
  t.equal(parseConstraint(`CaloprodOutput =?= ${classAdString(value)}`)({ CaloprodOutput: value.toUpperCase() }), false, '=?= is case-sensitive')
  t.equal(parseConstraint(`CaloprodOutput =?= ${classAdString(value)}`)({}), false, 'a job without the attribute is not ours')
})

t.test('the fake schedd holds a job that still has "$$(" when it is matched, as the real one does with a name no ad has', async (t) => {
  const dir = t.testdir({ 'job.sh': '#!/bin/sh\n', 'items': '/a/1_t.list\n' })
  chmodSync(join(dir, 'job.sh'), 0o755)
  // What condorArguments wrote for a literal "$$(Name)" before it refused one.
  writeFileSync(join(dir, 'x.sub'), `executable = job.sh\narguments = "'x' '$(item)' '$(DOLLAR)$(DOLLAR)(Name)'"\nqueue item from items\n`)
  const state = join(dir, 'state.json')
  const env = { ...process.env, ...fakeCondorEnv(state) }
  const submitted = spawnSync(join(FAKES, 'condor_submit'), ['x.sub'], { cwd: dir, env, encoding: 'utf8' })
  t.equal(submitted.status, 0, submitted.stderr)
  t.same(readFakeState(state).jobs[0]!.Args, ['x', '/a/1_t.list', '$$(Name)'], 'condor_submit leaves $$( as it is')
  await fakeCondor(state, 'run')
  const job = readFakeState(state).jobs[0]!
  t.equal(job.JobStatus, 5)
  t.equal(job.HoldReason, 'Cannot expand $$ expression (Name).')
})

t.test('each line of jobs.list reaches $(input_run) whole, as condor_submit reads an items file', async (t) => {
  const { readItems } = (await import(pathToFileURL(join(FAKES, 'condor-submit-lib.mjs')).href)) as { readItems(text: string): string[] }
  // The fake reads as condor_submit does (its header): trimmed lines, `\` continuation, blank and `#` lines as items.
  t.same(readItems('/a b, c.list\n\n  #x\\  \n/p\\\n/q\n'), ['/a b, c.list', '', '#x', '/p/q'])
  const lists = ['/data/run 5, #2/68006_new_newcdbtag_v008.list', '/data/ünï ✓/$x/68007_ana451_2024p009.list', `/d/${'x'.repeat(5000)}/68008_t.list`]
  const jobs = lists.map((list, i) => ({ runnumber: 68006 + i, tag: 't', list }))
  t.same(readItems(formatJobsList(jobs)), lists)
})
