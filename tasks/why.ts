#!/usr/bin/env -S npx tsx
// why: what the stages wrote (and, for a submitted run, the scheduler now) -> each run's story on stdout.
import { UsageError } from '../lib/errors.js'
import { storyLines } from '../lib/why/text.js'
import { tellStories } from '../lib/why/story.js'
import { declareStage } from './main.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'why',
    summary:
      'Tells, for each --run, each step it went through and the rule that decided it: the catalog (tags, files,\n' +
      'events, threshold), reduce (the tag kept and why), the CDB (settled or to process), lists (files listed and\n' +
      'missing), the jobs (each submission, memory, the scheduler\'s state now), upload, and what the next night does.\n' +
      'Reads what the stages wrote; asks the scheduler only about submitted runs; writes nothing, not even the log.\n' +
      'With --live: also asks the catalog (--db-url, else PG*) for the run\'s tags and events without the threshold,\n' +
      'and nopayloaddb (--cdb-url, else NOPAYLOADCLIENT_CONF) for each payload type of the kept tag.\n' +
      'With --json: a JSON array, one object per run.',
    flags: ['run-type', 'rules', 'min-events', 'output', 'run', 'max-attempts', 'max-memory', 'memory-scale', 'timeout', 'live', 'db-url',
      'statement-timeout', 'cdb-url', 'global-tag', 'json', 'help'],
    readOnly: () => true,
  },
  async ({ options, env }) => {
    if (!options.runs?.length) throw new UsageError('--run is required: which run to tell the story of')
    const stories = await tellStories({ ...options, runs: options.runs }, env)
    if (options.json) return JSON.stringify(stories, null, 1)
    return stories.flatMap((story, i) => [...(i ? [''] : []), ...storyLines(story)])
  },
)
