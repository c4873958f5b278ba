// lib/mod.ts, the surface a script imports as `caloprod` (package.json `exports`): every name it promises is there.
import t from 'tap'

t.test('a script imports caloprod by its name and finds the stages, the files, the outside systems and the rules', async (t) => {
  const mod = (await import('caloprod')) as Record<string, unknown>
  const functions = [
    'runQuery', 'runReduce', 'runCheck', 'runLists', 'runCondor', 'runSubmit', 'planSubmission', 'runStatus', 'openLog',
    'readQueryCsv', 'readQueryRows', 'readRunList', 'writeRunList', 'readSettled', 'writeSettled', 'readProcessList',
    'writeProcessList', 'writeMissingList', 'parseListName', 'runTagKey', 'readJobsList', 'appendLedger', 'readLedger',
    'readTable', 'writeCsv', 'writeFileIfChanged', 'catalogTarget', 'connectCatalog', 'queryFiles', 'askCdb',
    'schedulerJobs', 'condorSubmit', 'runState', 'currentPayloadFile', 'runRange', 'tagProblem', 'pathProblem',
    'logFileFor', 'acquireLock', 'lockOwner', 'defaultOptions', 'tellStories', 'storyLines',
  ]
  for (const name of functions) t.type(mod[name], 'function', name)
  t.ok((mod.PAYLOAD_TYPES as string[]).includes('CEMC_meanTime'), 'the payload types')
  t.ok((mod.layout as { queryCsv(o: string): string }).queryCsv('/o').endsWith('/o/query.csv'))
  const same = await import('../lib/mod.js')
  t.equal(mod.runQuery, same.runQuery, 'the package name resolves to lib/mod.ts')
})
