// Text caloprod did not write (a catalog's paths, HTCondor's hold reasons and condor_submit's words, the CDB's answers,
// a hand-edited file) reaches a person's terminal, cron's mail and the report page. A terminal obeys the control
// characters in it (ESC sequences recolour, move the cursor, set the clipboard through OSC 52, hide a line; `\r` and
// backspace write over what came before) and a bidi override shows text in another order than it is: what a person
// reads would differ from what is there. Each such character is shown instead as JSON writes it (`\u001b`), so the
// text and the `--json` outputs say the same, and a JSON text stays JSON. Plain UTF-8 (an accented name) is left
// alone; so is `\\` (a path's backslash is not a control).

/**
 * C0 controls but tab and line feed, DEL, C1 controls (U+009B is CSI on some terminals), the bidi marks, embeddings,
 * overrides and isolates (U+061C, U+200E-F, U+202A-E, U+2066-9), and the line and paragraph separators.
 */
const HIDDEN = /[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** The same with the line feed: within what must stay one line. */
const HIDDEN_IN_LINE = /[\0-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/** `text` for a terminal, a log or a page: every control and bidi character as `\uXXXX`; its lines stay lines. */
export function visible(text: string): string {
  return text.replace(HIDDEN, escaped)
}

/**
 * One line for a terminal: `visible`, its line feeds too, so that a line per run or the one line of an error
 * stays one line (a hold reason or a hand-edited field cannot add a line that looks like another run's).
 */
export function visibleLine(text: string): string {
  return text.replace(HIDDEN_IN_LINE, escaped)
}
