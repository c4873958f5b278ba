// Where requests sent at once meet, however far apart a busy machine delivers them: a fake server's answers wait
// until that many were in flight together, so a test of "at most N at once" sees them together.

/**
 * `arrived(inFlight)`: each request, once it has counted itself; `met` settles when `count` were in flight together,
 * or after `boundMs`, a safety net a busy machine does not reach (unref'd: it holds nothing up).
 */
export function meeting(count: number, boundMs = 10_000): { met: Promise<void>; arrived: (inFlight: number) => void } {
  let open = () => {}
  const met = new Promise<void>((resolve) => (open = resolve))
  setTimeout(() => open(), boundMs).unref()
  return { met, arrived: (inFlight) => { if (inFlight === count) open() } }
}
