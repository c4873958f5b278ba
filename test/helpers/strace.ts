// Whether strace can trace here, for the tests that watch a stage from outside (its opens, its threads' stats).
import { execFileSync } from 'node:child_process'

/** False where strace traces; otherwise why not, as a test's `skip`. */
export function straceWorks(): string | false {
  try {
    execFileSync('strace', ['-f', '-o', '/dev/null', 'true'], { stdio: 'ignore' })
    return false
  } catch {
    return 'strace is not installed or may not trace here'
  }
}
