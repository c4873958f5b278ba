import { setTimeout as wait } from 'node:timers/promises'

/**
 * How to retry an operation that may fail for a passing reason: `attempts` in all (default 4), pauses from `baseMs`
 * (1000), doubling up to `maxMs` (30000); `onRetry` is told before each pause; `sleep`, `random`: for tests.
 */
export interface RetryPolicy {
  attempts?: number
  baseMs?: number
  maxMs?: number
  retryable: (err: unknown) => boolean
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

/**
 * Runs `operation` until it succeeds, a non-retryable error occurs, or the tries run out.
 * Pauses grow exponentially with equal jitter (half the ceiling plus a random part of the other half): never
 * shorter than half, so a restarting server gets time, and spread out, so many cron jobs do not return at once.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const attempts = policy.attempts ?? 4
  const base = policy.baseMs ?? 1000
  const max = policy.maxMs ?? 30000
  const sleep = policy.sleep ?? wait
  const random = policy.random ?? Math.random
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (err) {
      if (attempt >= attempts || !policy.retryable(err)) throw err
      const ceiling = Math.min(max, base * 2 ** (attempt - 1))
      const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2)
      policy.onRetry?.(err, attempt, delay)
      await sleep(delay)
    }
  }
}
