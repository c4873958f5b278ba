// The demo's catalog is drawn from the fake CDB's seeded generator: the same seed gives the same catalog on every machine.
export { seededRandom } from '../fakes/cdb-lib.mjs'

/** A whole number in [low, high], drawn from `random`. */
export function randomInt(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1))
}
