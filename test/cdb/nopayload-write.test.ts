// The answers of nopayloaddb's writes as caloprod reads them (lib/cdb/nopayload-write.ts), over a stub request.
import t from 'tap'
import { attachPayloadIov, type CdbRequest } from '../../lib/cdb/nopayload-write.js'

const answering = (body: string): CdbRequest => async () => body

/** PayloadIOVSerializer's fields (nopayloaddb serializers.py at 0c9f2f8): what PUT piov_attach answers. */
const attached = (id: number, list: string) => JSON.stringify({
  id, payload_url: 'CEMC_meanTime/ab/cd/abcd_x.root', checksum: 'abcd', major_iov: 0, minor_iov: 5, comb_iov: '0.0000000000000000005',
  major_iov_end: 0, minor_iov_end: 6, payload_list: list, inserted: '2026-07-23T10:00:00.123456',
})

t.test('an attach counts only when nopayloaddb answers that payload IOV in that list', async (t) => {
  await t.resolves(attachPayloadIov(answering(attached(7, 'CEMC_meanTime_5')), 'CEMC_meanTime_5', 7))
  const html = '<!DOCTYPE html><html><head><title>Single Sign-On: please log in</title></head><body></body></html>'
  await t.rejects(attachPayloadIov(answering(html), 'CEMC_meanTime_5', 7), /^the CDB answered PUT piov_attach with an HTML page "Single Sign-On: please log in", not JSON$/)
  const expected = /; expected payload IOV 7 in payload list CEMC_meanTime_5$/
  await t.rejects(attachPayloadIov(answering(attached(8, 'CEMC_meanTime_5')), 'CEMC_meanTime_5', 7), expected, 'another payload IOV')
  await t.rejects(attachPayloadIov(answering(attached(7, 'CEMC_meanTime_6')), 'CEMC_meanTime_5', 7), expected, 'another list')
  await t.rejects(attachPayloadIov(answering('{}'), 'CEMC_meanTime_5', 7), expected, 'an empty object')
  await t.rejects(attachPayloadIov(answering(''), 'CEMC_meanTime_5', 7), /with "", not JSON$/, 'nothing')
})
