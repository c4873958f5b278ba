// One updating line on a terminal for the stages a person waits on (query, check, lists), only when stderr is a
// terminal and not --quiet (lib/stage.ts), so cron's mail and the log never see it; else NO_PROGRESS.

/** `show` draws at most every REDRAW_MS, but always the first call and a `final` one; `clear` erases the line. */
export interface Progress {
  show(text: string, final?: boolean): void
  clear(): void
}

/** What a stage without a terminal gets: nothing. */
export const NO_PROGRESS: Progress = { show() {}, clear() {} }

const REDRAW_MS = 100

/** Milliseconds by the monotonic clock: a wall clock stepped back (NTP) would stop the redraws and the rate. */
const monotonic = () => performance.now()
const ERASE = '\r\x1b[K'

/** A progress line written to `write` (a terminal's stderr). */
export function terminalProgress(write: (text: string) => void, now: () => number = monotonic): Progress {
  let drawnAt = -Infinity
  let shown = false
  return {
    show(text, final = false) {
      const at = now()
      if (at - drawnAt < REDRAW_MS && !final) return
      drawnAt = at
      shown = true
      write(`${ERASE}${text}`)
    },
    clear() {
      if (shown) write(ERASE)
      shown = false
      drawnAt = -Infinity
    },
  }
}

/** `12 s`, `3 min`, `1.5 h`. */
function duration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

/** A counter, `check: 120 of 282 runs answered, 35/s, 8 s left` or `query: 51200 rows received`; give it the count. */
export function progressCounter(
  progress: Progress,
  label: string,
  what: string,
  total?: number,
  now: () => number = monotonic,
): (done: number) => void {
  const start = now()
  return (done) => {
    if (total === undefined) return progress.show(`${label}: ${done} ${what}`)
    const seconds = (now() - start) / 1000
    const rate = seconds > 0 ? done / seconds : 0
    const left = rate > 0 && done < total ? `, ${duration((total - done) / rate)} left` : ''
    const perSecond = rate > 0 ? `, ${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s` : ''
    progress.show(`${label}: ${done} of ${total} ${what}${perSecond}${left}`, done === total)
  }
}
