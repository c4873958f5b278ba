// What a stage's body leaves behind that must not outlive the stage (the programs it started, its temporary files),
// kept in a set of its own per body (an AsyncLocalStorage, so two stages run in one process, as the tests do, never
// see each other's). However the body ends, its set is closed, then released; an ended body that goes on (an
// internal error does not stop it) finds its set closed and adds nothing more. A signal releases every open set.
import { AsyncLocalStorage } from 'node:async_hooks'

export interface ScopedSets<T> {
  /** Runs `work` with a set of its own; then, however it ended, closes the set and releases what it holds. */
  within<R>(work: () => Promise<R>): Promise<R>
  /** The set of the work running now, and whether that work has ended; undefined outside any. */
  current(): { items: Set<T>; closed: boolean } | undefined
  /** Closes and releases every set still open (a signal ends the process before their work ends). */
  releaseAll(): Promise<void>
  /** The sets still open, for what cannot wait for a release (a second signal). */
  open(): Iterable<ReadonlySet<T>>
}

/** Sets released by `release` (which must not fail). */
export function scopedSets<T>(release: (items: ReadonlySet<T>) => Promise<void>): ScopedSets<T> {
  const store = new AsyncLocalStorage<Set<T>>()
  const live = new Set<Set<T>>()
  const closed = new WeakSet<Set<T>>()
  return {
    async within(work) {
      const items = new Set<T>()
      live.add(items)
      try {
        return await store.run(items, work)
      } finally {
        closed.add(items)
        await release(items)
        live.delete(items)
      }
    },
    current() {
      const items = store.getStore()
      return items && { items, closed: closed.has(items) }
    },
    async releaseAll() {
      for (const items of live) closed.add(items)
      await Promise.all([...live].map(release))
    },
    open: () => live,
  }
}
