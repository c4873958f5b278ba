/**
 * Runs `task` on each item with at most `limit` in flight. After the first failure, or once `stop` is aborted,
 * no further item starts; the promise settles when those in flight have, rejecting with the first error.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
  stop?: AbortSignal,
): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (next < items.length && !failure && !stop?.aborted) {
      const index = next++
      try {
        await task(items[index], index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure) throw failure.error
}

/** `task` of each item, at most `limit` in flight (eachLimited), the results in the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  await eachLimited(items, limit, async (item, index) => {
    results[index] = await task(item, index)
  })
  return results
}
