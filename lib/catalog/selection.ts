import { runRange, type RunType } from '../rules/run-types.js'
import { AGGREGATE_SEGMENT, type RuleSet } from '../rules/types.js'

/** The SQL of one query stage run: the selection, and the count of the catalog traps it steps around. */
interface SelectionStatements {
  /** Every listed histogram file as query.csv's rows, sorted by run, tag (bytewise), segment and path. */
  select: string
  /** One row: `excluded` (e.g. skimmed histograms), `aggregated` (segment 9999), `untagged` (NULL or empty tag). */
  traps: string
  /**
   * One row: three texts that change whenever anything `select` and `traps` read changes (lib/catalog/fingerprint.ts),
   * and `traps`' three counts, from the same scan.
   * `datasets`: over the run range's rows of any of the rule set's types, the count, the sum of a 64-bit hash of the
   * columns read, and how many histogram or tag-file rows have a file name not starting with one of those types.
   * `files`: over the rows whose lfn starts with one of them, the count and hash sum of lfn, path and time; it covers
   * every file the selection joins while that last count is 0 (production names start with their type).
   * `columns`: a hash of the type (with its modifier) and collation of each column `select` reads (READ_COLUMNS).
   */
  fingerprint: string
}

/**
 * The columns the selection reads. Their values are hashed row by row; their types and collations once a night, as
 * the text query.csv gets depends on them too: `time` of a timestamptz is written with `+00`, a char(n) path with its
 * padding, while the hashes see the same epoch and the same unpadded text.
 */
const READ_COLUMNS = {
  datasets: ['dsttype', 'events', 'filename', 'runnumber', 'segment', 'tag'],
  files: ['full_file_path', 'lfn', 'time'],
} as const

/** A dataset type prefix as a LIKE pattern; load.ts allowed only letters, digits and `_`, so `_` is all to escape. */
function likePrefix(column: string, prefix: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(prefix)) throw new Error(`dataset type "${prefix}" may hold only letters, digits and _`)
  return `${column} like '${prefix.replace(/_/g, '\\_')}%'`
}

function likeAny(column: string, prefixes: readonly string[]): string {
  return prefixes.length ? `(${prefixes.map((p) => likePrefix(column, p)).join(' or ')})` : 'false'
}

/** An integer that goes into SQL text as a literal; COPY takes no bind parameters. */
function sqlInteger(value: number, what: string): string {
  if (!Number.isSafeInteger(value)) throw new Error(`${what} ${value} is not a whole number`)
  return String(value)
}

/**
 * Builds the query stage's SQL from a rule set: the one place where rules become SQL. Dataset types go in as
 * validated prefixes, numbers as validated integers; nothing else of the rules is text in the statement.
 *
 * One scan of `datasets` groups histograms and DST twins by (run, tag, segment) (`segs`): each segment's twin
 * events, whether it has a twin, whether it has a histogram that counts. Under every rule set, histograms of an
 * excluded type (skimmed) are no histograms, segment 9999 is never listed or counted, a NULL or empty tag never
 * matches; a DST row counts once however many histograms its segment has (the seed's step A join counted it once
 * per histogram row). Then:
 * - `twinRequired` lists a histogram only when its segment has a twin (the seed's step B join on segment);
 * - a threshold keeps the (run, tag)s whose counted segments' twins hold more than `minEvents` events;
 * - `newest-qa-file` keeps each run's tag whose newest `tagFileTypes` file is the latest (`winner`; segment 9999
 *   counts there, as upstream; ties to the tag that sorts last).
 * `events` of a row is its segment's twin events when the segment counts, else 0.
 */
export function buildSelection(
  rules: RuleSet,
  runType: RunType,
  minEvents: number | undefined,
  /** false: the general statement, even where winner-first gives the same rows (for the tests that say so). */
  options: { winnerFirst?: boolean } = {},
): SelectionStatements {
  const { first, last } = runRange(runType, rules.runTypes)
  const inRange = (alias: string) => `${alias}runnumber between ${sqlInteger(first, 'run')} and ${sqlInteger(last, 'run')}`
  const hist = (a: string) => likeAny(`${a}dsttype`, rules.histogramTypes)
  const excluded = (a: string) => likeAny(`${a}dsttype`, rules.excludedTypes)
  const usable = (a: string) => `${a}tag <> '' and not ${excluded(a)}`
  const twin = likePrefix('dsttype', rules.twinType)
  const counted = likeAny('dsttype', rules.countedTypes)
  const aggregate = sqlInteger(AGGREGATE_SEGMENT, 'segment')

  // `segs` is read once, and grouped by the tag's bytes (as equality already is under a deterministic collation), so
  // its rows come in the answer's order: the histograms are merged on by run, tag and segment and the files joined
  // in that order, and the server sends rows as it makes them, sorting only each segment's few paths, where a second
  // read of `segs` (a CTE of its own for the threshold) made it sort the whole answer (on disk) after every row was
  // made. The threshold's window is ordered by segment over its whole partition (the same sum) so that its rows keep
  // the segment order the merge needs.
  const threshold = minEvents === undefined ? ''
    : `,\n             sum(events) filter (where counted and has_twin)
               over (partition by runnumber, tag order by segment rows between unbounded preceding and unbounded following) as tag_events`
  const ctes = [
    `segs as (
      select runnumber, tag, segment, events, has_twin, counted${threshold}
      from (
        select runnumber, tag collate "C" as tag, segment,
               sum(events) filter (where ${twin}) as events,
               bool_or(${twin}) as has_twin,
               bool_or(${counted}) as counted
        from datasets
        where (${hist('')} or ${twin}) and ${usable('')} and ${inRange('')} and segment <> ${aggregate}
        group by runnumber, tag collate "C", segment
      ) g
    )`,
  ]
  const joins = ['join datasets h on h.runnumber = s.runnumber and h.tag collate "C" = s.tag and h.segment = s.segment']
  const kept = [
    ...(rules.twinRequired ? ['s.has_twin'] : []),
    ...(minEvents === undefined ? [] : [`s.tag_events > ${sqlInteger(minEvents, '--min-events')}`]),
  ]
  const winner = (types: string) => `winner as (
      select runnumber, tag from (
        select d.runnumber, d.tag,
               row_number() over (partition by d.runnumber order by max(f.time) desc nulls last, d.tag collate "C" desc) as rank
        from datasets d join files f on f.lfn = d.filename
        where ${types} and ${usable('d.')} and ${inRange('d.')}
        group by d.runnumber, d.tag
      ) ranked
      where rank = 1
    )`
  if (rules.tagRule === 'newest-qa-file') {
    ctes.push(winner(likeAny('d.dsttype', rules.tagFileTypes)))
    joins.push('join winner w on w.runnumber = h.runnumber and w.tag = h.tag')
  }
  // Without a threshold, newest-qa-file reads only the winning tag's rows: `winner` first, then its histograms
  // and twins by index (on the exact types the prefixes match, found by a loose index scan: `types`), twin events
  // per segment by a window. The same rows as the statement below, without grouping every tag's segments.
  const winnerFirst = () => {
    const prefixes = [...new Set([...rules.histogramTypes, rules.twinType, ...rules.tagFileTypes])]
    const loose = prefixes.map((prefix, i) => {
      const next = (after: string) =>
        `(select dsttype from datasets where ${likePrefix('dsttype', prefix)}${after} order by dsttype using ~<~ limit 1)`
      return `t${i}(t) as (select ${next('')} union all select ${next(` and dsttype ~>~ t${i}.t`)} from t${i} where t${i}.t is not null)`
    })
    const typesOf = (condition: string) => `(select array_agg(t) from types where ${condition})::text[]`
    const onT = (prefixes: readonly string[]) => likeAny('t', prefixes)
    const row = (condition: string) => condition.replace(/\bdsttype\b/g, 'd.dsttype')
    return `
    with recursive ${loose.join(',\n    ')},
    types as (
      select t from (${prefixes.map((_, i) => `select t from t${i}`).join(' union ')}) u
      where t is not null and not ${onT(rules.excludedTypes)}
    ),
    ${winner(`d.dsttype = any(${typesOf(onT(rules.tagFileTypes))})`)},
    r as (
      select d.runnumber, d.tag, d.segment, d.filename, ${hist('d.')} as listed,
             sum(d.events) filter (where ${row(twin)}) over seg as events,
             bool_or(${row(twin)}) over seg as has_twin,
             bool_or(${row(counted)}) over seg as counted
      from winner w
      join datasets d on d.dsttype = any(${typesOf(`${onT(rules.histogramTypes)} or ${onT([rules.twinType])}`)})
                     and d.runnumber = w.runnumber and d.tag = w.tag
      where d.segment <> ${aggregate}
      window seg as (partition by d.runnumber, d.segment)
    )
    select r.runnumber, r.tag, r.segment,
           (case when r.counted and r.has_twin then coalesce(r.events, 0) else 0 end)::text as events,
           f.full_file_path, f.time::text as time
    from r join files f on f.lfn = r.filename
    where r.listed${rules.twinRequired ? ' and r.has_twin' : ''}
    order by r.runnumber, r.tag collate "C", r.segment, f.full_file_path collate "C"`
  }
  const select = rules.tagRule === 'newest-qa-file' && minEvents === undefined && options.winnerFirst !== false ? winnerFirst() : `
    with ${ctes.join(',\n    ')}
    select s.runnumber, s.tag, s.segment,
           (case when s.counted and s.has_twin then coalesce(s.events, 0) else 0 end)::text as events,
           f.full_file_path, f.time::text as time
    from segs s
    ${joins.join('\n    ')}
    join files f on f.lfn = h.filename
    where ${[...kept, hist('h.'), usable('h.'), inRange('h.'), `h.segment <> ${aggregate}`].join(' and ')}
    order by s.runnumber, s.tag, s.segment, f.full_file_path collate "C"`
  const traps = `
    select count(*) filter (where ${excluded('')}) as excluded,
           count(*) filter (where not ${excluded('')} and segment = ${aggregate}) as aggregated,
           count(*) filter (where not ${excluded('')} and (tag is null or tag = '')) as untagged
    from datasets
    where (${hist('')} or ${excluded('')}) and ${inRange('')}`
  const fileTypes = [...new Set([...rules.histogramTypes, ...rules.tagFileTypes])]
  const readTypes = [...new Set([...fileTypes, ...rules.excludedTypes, rules.twinType, ...rules.countedTypes])]
  // Row hashes: each column's 64-bit hash (hashtextextended, its seed another column), XORed, and a bit per column
  // that may be NULL, set when it is: a NULL hashes as '' or 0, and its bit tells it from a real '' or 0. (NULL once
  // hashed as -1 or E'\x7f', so a twin's events or a segment going from NULL to -1 kept a stale query.csv: the
  // selection tells them apart, sum(events) skipping a NULL, segment <> 9999 being NULL for one.)
  const nullBits = (columns: string[]) => `(${columns.map((column, i) => `((${column} is null)::int << ${i})`).join(' | ')})`
  const text = (column: string) => `coalesce(${column}, '')`
  const number = (column: string) => `coalesce(${column}, 0)`
  // The traps' counts come from the same scan (their rows are among the fingerprint's), so a night that goes on
  // to the query does not read those rows of datasets a third time.
  // The types from the catalog's own tables: a few rows, whatever the size of the catalog.
  const readColumns = Object.entries(READ_COLUMNS).map(([table, columns]) =>
    `(c.attrelid = '${table}'::regclass and c.attname in (${columns.map((column) => `'${column}'`).join(', ')}))`)
  const columns = `
           (select hashtextextended(string_agg(format('%s.%s %s %s', c.attrelid::regclass, c.attname,
                     format_type(c.atttypid, c.atttypmod), c.attcollation), ', ' order by c.attrelid::regclass::text, c.attname), 3)
            from pg_attribute c where not c.attisdropped and (${readColumns.join(' or ')})) as columns`
  const fingerprint = `
    select d.datasets, d.excluded, d.aggregated, d.untagged,${columns},
           (select count(*) || ' ' || coalesce(sum(hashtextextended(f.lfn, 0) # hashtextextended(${text('f.full_file_path')}, 1)
                  # coalesce(hash_numeric_extended(extract(epoch from f.time), 2), 0)
                  # ${nullBits(['f.full_file_path', 'f.time'])}), 0)
            from files f where ${likeAny('f.lfn', fileTypes)}) as files
    from (select count(*) || ' ' || coalesce(sum(hashtextextended(${text('d.filename')}, ${number('d.runnumber')})
                  # hashtextextended(d.dsttype, ${number('d.segment')})
                  # hashtextextended(${text('d.tag')}, ${number('d.events')})
                  # ${nullBits(['d.filename', 'd.runnumber', 'd.segment', 'd.tag', 'd.events'])}), 0)
                  || ' ' || count(*) filter (where ${likeAny('d.dsttype', fileTypes)} and not ${likeAny('d.filename', fileTypes)}) as datasets,
                 count(*) filter (where ${excluded('d.')}) as excluded,
                 count(*) filter (where ${hist('d.')} and not ${excluded('d.')} and d.segment = ${aggregate}) as aggregated,
                 count(*) filter (where ${hist('d.')} and not ${excluded('d.')} and (d.tag is null or d.tag = '')) as untagged
          from datasets d where ${inRange('d.')} and ${likeAny('d.dsttype', readTypes)}) d`
  return { select, traps, fingerprint }
}
