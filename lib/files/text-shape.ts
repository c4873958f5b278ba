// What a person's editor may do to a small CSV read whole (the process list, the ledger), checked before
// parsing so the message says what happened rather than a header that looks right, and never carries a `\r`
// that would garble the one line on a terminal. The large CSVs are checked as they stream (lib/files/csv.ts).

/**
 * The first of: an empty file (unless `emptyOk`), a byte-order mark, CRLF line ends, a last line without its
 * newline (unless `tornTailOk`), as the line it is on and what to do. Undefined when the text has none of them.
 */
export function textShapeProblem(
  text: string,
  options: { header: string; emptyOk?: boolean; tornTailOk?: boolean },
): { line: number | undefined; message: string } | undefined {
  if (text.length === 0) {
    return options.emptyOk ? undefined : { line: 1, message: `is empty; expected at least the header "${options.header}"` }
  }
  if (text.charCodeAt(0) === 0xfeff) return { line: 1, message: 'starts with a byte-order mark; save it as UTF-8 without BOM' }
  const cr = text.indexOf('\r')
  if (cr !== -1) return { line: text.slice(0, cr).split('\n').length, message: 'has Windows (CRLF) line ends; convert it with dos2unix' }
  if (!options.tornTailOk && !text.endsWith('\n')) {
    return {
      line: text.split('\n').length,
      message: 'last line is truncated (no newline at the end); restore the file or re-run the stage that writes it',
    }
  }
  return undefined
}
