import t from 'tap'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { SETTLED_TABLE, stillSettled, type SettledRow } from '../../lib/files/settled.js'

const SEVEN = SEVEN_PAYLOAD_TYPES.join(' ')

t.test('a settled row reads back as written and refuses what is not a UTC time or a safe tag', async (t) => {
  const row: SettledRow = { runnumber: 66500, tag: 'new_newcdbtag_v008', checked_at: '2025-11-29T03:00:00.000Z', payload_types: SEVEN }
  t.same(SETTLED_TABLE.fromFields(SETTLED_TABLE.toFields(row).map(String)), row)
  t.throws(() => SETTLED_TABLE.fromFields(['66500', 'v1', '2025-11-29 03:00:00', SEVEN]), /checked_at "2025-11-29 03:00:00" is not a UTC time/)
  t.throws(() => SETTLED_TABLE.fromFields(['66500', 'v1', '2025-13-45T03:00:00Z', SEVEN]), /is not a UTC time/)
  t.throws(() => SETTLED_TABLE.fromFields(['66500', 'a b', '2025-11-29T03:00:00Z', SEVEN]), /tag "a b"/)
  t.throws(() => SETTLED_TABLE.fromFields(['x', 'v1', '2025-11-29T03:00:00Z', SEVEN]), /runnumber "x" is not a whole number/)
  t.throws(() => SETTLED_TABLE.fromFields(['66500', 'v1', '2025-11-29T03:00:00Z', 'a,b']), /payload_types "a,b"/)
})

t.test('an entry answers for its own tag for --recheck-after seconds, not a moment longer', async (t) => {
  const entry: SettledRow = { runnumber: 1, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN }
  const day = 86400
  t.ok(stillSettled(entry, 'v1', new Date('2025-11-08T00:00:00.000Z'), 7 * day, SEVEN_PAYLOAD_TYPES))
  t.notOk(stillSettled(entry, 'v1', new Date('2025-11-08T00:00:00.001Z'), 7 * day, SEVEN_PAYLOAD_TYPES))
  t.notOk(stillSettled(entry, 'v2', new Date('2025-11-01T00:00:01.000Z'), 7 * day, SEVEN_PAYLOAD_TYPES))
  t.notOk(stillSettled(undefined, 'v1', new Date(), 7 * day, SEVEN_PAYLOAD_TYPES))
})

t.test('an entry settled for seven payloads does not answer for rules that need ten', async (t) => {
  const entry: SettledRow = { runnumber: 1, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN }
  const now = new Date('2025-11-02T00:00:00.000Z')
  t.ok(stillSettled(entry, 'v1', now, 7 * 86400, SEVEN_PAYLOAD_TYPES))
  t.notOk(stillSettled(entry, 'v1', now, 7 * 86400, [...SEVEN_PAYLOAD_TYPES, 'CEMC_ZSCrossCalib']))
  const ten: SettledRow = { ...entry, payload_types: `${SEVEN} CEMC_ZSCrossCalib HCALIN_ZSCrossCalib HCALOUT_ZSCrossCalib` }
  t.ok(stillSettled(ten, 'v1', now, 7 * 86400, SEVEN_PAYLOAD_TYPES), 'settled for ten answers for seven')
})
