// Writing values into an HTCondor submit file so that condor_submit reads back exactly what we meant.
// condor_submit first expands macros (`$(NAME)`, `$Fn(NAME)`, ...) in every value, then parses `arguments`
// in the "new syntax": the whole value in double quotes, arguments separated by spaces, an argument with spaces
// in single quotes, `'` doubled inside single quotes, `"` doubled everywhere. What it leaves as `$$(…)` the schedd
// expands later, in every attribute of the job, when the job is matched (qmgmt.cpp dollarDollarExpand, htcondor
// 7491a145): from the machine's ad, or the job is held; `$(DOLLAR)` cannot stop that, so such a value is refused.

/** A literal `$` in a submit file: condor_submit expands `$(DOLLAR)` last, so the result is never re-read as a macro. */
const DOLLAR = '$(DOLLAR)'

/** Why a value cannot be written into a submit file at all, or undefined when it can. */
export function submitValueProblem(value: string): string | undefined {
  if (/[\n\r\0]/.test(value)) return `${JSON.stringify(value)} holds a line break or NUL, which an HTCondor submit file cannot express`
  if (value !== value.trim()) return `${JSON.stringify(value)} starts or ends with white space, which condor_submit strips`
  if (value.includes('$$(')) return `${JSON.stringify(value)} holds "$$(", which HTCondor expands when the job is matched to a machine`
}

/**
 * Why a value cannot be the expansion of a macro inside our `arguments` (the list path of `$(input_run)`), or
 * undefined when it can: condor_submit pastes a macro's value unquoted, so quotes would end the argument and
 * `$(`/`$NAME(` would be expanded again.
 */
export function macroValueProblem(value: string): string | undefined {
  const problem = submitValueProblem(value)
  if (problem) return problem
  if (/['"]/.test(value)) return `${JSON.stringify(value)} holds a quote, which condor_submit cannot pass through $(input_run) unchanged`
  if (/\$[A-Za-z0-9_]*\(/.test(value)) return `${JSON.stringify(value)} holds "$(" or "$NAME(", which condor_submit would expand as a macro`
}

/** Text that condor_submit reads back literally: every `$` becomes `$(DOLLAR)`. */
export const submitLiteral = (value: string) => value.replace(/\$/g, DOLLAR)

/** A ClassAd string literal, e.g. for `+CaloprodOutput = "..."` or a `-constraint` (backslash escapes). */
export const classAdString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * The value of `arguments` in the new syntax: each argument in single quotes (so spaces and tabs stay inside
 * it), `'` and `"` doubled, `$` written as `$(DOLLAR)`. A macro argument is written as `'$(NAME)'`; its value
 * must pass `macroValueProblem`. Throws for a literal a submit file cannot hold.
 */
export function condorArguments(args: readonly (string | { macro: string })[]): string {
  const quoted = args.map((arg) => {
    if (typeof arg !== 'string') return `'$(${arg.macro})'`
    if (/[\n\r\0]/.test(arg)) {
      throw new Error(`argument ${JSON.stringify(arg)} holds a line break or NUL, which HTCondor cannot pass to a job`)
    }
    if (arg.includes('$$(')) throw new Error(`argument ${JSON.stringify(arg)} holds "$$(", which HTCondor expands when the job is matched`)
    return `'${submitLiteral(arg.replace(/'/g, "''").replace(/"/g, '""'))}'`
  })
  return `"${quoted.join(' ')}"`
}
