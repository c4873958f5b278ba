// The values a variable can hold, printed and tested for emptiness as go-task (Go's fmt and sprig) does:
// YAML gives strings, ints, floats, bools and null; CLI vars, env vars and `sh:` results are strings.

/** A YAML float (`0.5`, `1.0`): kept apart from ints because Go prints `1.0` as `1` and `1e6` as `1e+06`. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** A variable's value: ints are plain numbers. */
export type Value = string | number | boolean | null | GoFloat

/** Go's %v for a float64: shortest digits, exponent form below 1e-4 and from 1e+06 (strconv 'g', -1). */
function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf'
  if (x === 0) return Object.is(x, -0) ? '-0' : '0'
  const [mantissa, expText] = x.toExponential().split('e')
  const exp = Number(expText)
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+'
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`
  }
  return String(x)
}

/** Prints a value as a Go template prints it (a missing or nil value prints nothing in go-task v3). */
export function formatValue(v: Value): string {
  if (v === null) return ''
  if (v instanceof GoFloat) return formatFloat(v.value)
  return String(v)
}

/** sprig's `empty`: nil, "", 0, 0.0 and false are empty (what `default` replaces). */
export function isEmpty(v: Value): boolean {
  if (v === null || v === '' || v === false || v === 0) return true
  return v instanceof GoFloat && v.value === 0
}

/** The Go type name of a value, for type errors worded like text/template's. */
export function goTypeName(v: Value): string {
  if (v === null) return 'nil'
  if (v instanceof GoFloat) return 'float64'
  if (typeof v === 'number') return 'int'
  if (typeof v === 'boolean') return 'bool'
  return 'string'
}
