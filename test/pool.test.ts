import t from 'tap'
import { eachLimited, mapLimited } from '../lib/pool.js'

const tick = () => new Promise((r) => setTimeout(r, 2))

t.test('eachLimited runs every item, never more than the limit at once', async (t) => {
  let inFlight = 0
  let most = 0
  const done: number[] = []
  await eachLimited([...Array(40).keys()], 3, async (item) => {
    most = Math.max(most, ++inFlight)
    await tick()
    inFlight--
    done.push(item)
  })
  t.same(done.sort((a, b) => a - b), [...Array(40).keys()])
  t.equal(most, 3)
})

t.test('after a failure no item starts; those in flight finish before it rejects with the first error', async (t) => {
  const started: number[] = []
  let finished = 0
  const run = eachLimited([...Array(20).keys()], 4, async (item) => {
    started.push(item)
    await tick()
    if (item === 5) throw new Error('five')
    if (item === 6) throw new Error('six')
    finished++
  })
  await t.rejects(run, /five/)
  t.ok(started.length < 20, `${started.length} started`)
  t.equal(finished + 2, started.length, 'every started item settled before the rejection')
})

t.test('an aborted stop signal starts nothing more', async (t) => {
  const stop = new AbortController()
  const started: number[] = []
  await eachLimited([...Array(10).keys()], 2, async (item) => {
    started.push(item)
    if (item === 1) stop.abort()
    await tick()
  }, stop.signal)
  t.same(started, [0, 1])
})

t.test('mapLimited gives the results in the items\' order, whatever order they finish in, the limit kept', async (t) => {
  let inFlight = 0
  let most = 0
  const results = await mapLimited([...Array(30).keys()], 4, async (item, index) => {
    most = Math.max(most, ++inFlight)
    await new Promise((r) => setTimeout(r, (30 - item) % 7))
    inFlight--
    return `${item}:${index}`
  })
  t.same(results, [...Array(30).keys()].map((i) => `${i}:${i}`))
  t.equal(most, 4)
  await t.rejects(mapLimited([1, 2, 3], 2, async (item) => {
    if (item === 2) throw new Error('two')
    return item
  }), /two/, 'a failure rejects as eachLimited does')
})
