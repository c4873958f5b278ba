#!/usr/bin/env -S npx tsx
// Which runs of a run type lack a current payload of one type in the CDB, asked straight from nopayloaddb:
//   NOPAYLOADCLIENT_CONF=... npx tsx examples/lacking-payload.ts OUTPUT RUN_TYPE [TYPE] [GLOBAL_TAG]
// e.g. `examples/lacking-payload.ts run3pp run3pp CEMC_meanTime`. Reads the run list reduce wrote (<runtype>.csv).
import { GLOBAL_TAG, HttpClient, judgeRun, layout, parsePayloadIovs, payloadIovsUrl, PAYLOAD_TYPES, readNopayloadConfig, readRunList, type PayloadType } from 'caloprod'

const [output, runType, type = 'CEMC_meanTime', globalTag = GLOBAL_TAG] = process.argv.slice(2)
if (!output || !runType || !(PAYLOAD_TYPES as readonly string[]).includes(type)) {
  process.stderr.write(`usage: lacking-payload.ts OUTPUT RUN_TYPE [TYPE] [GLOBAL_TAG]; TYPE one of ${PAYLOAD_TYPES.join(', ')}\n`)
  process.exit(2)
}
const conf = await readNopayloadConfig(process.env)
if (!conf) {
  process.stderr.write('set NOPAYLOADCLIENT_CONF to a nopayloadclient configuration file\n')
  process.exit(2)
}
const http = new HttpClient({ server: conf.apiUrl, maxInFlight: 16 })
const runs = await readRunList(layout.runListCsv(output, runType))
// Ask for all runs at once (the client keeps 16 in flight), then print in run order.
const states = await Promise.all(runs.map(async ({ runnumber, tag }) => {
  const { body } = await http.get(payloadIovsUrl(conf.apiUrl, globalTag, runnumber), `run ${runnumber}`)
  return judgeRun(parsePayloadIovs(body, runnumber), runnumber, tag, [type as PayloadType]).get(type as PayloadType)
}))
let lacking = 0
runs.forEach(({ runnumber, tag }, i) => {
  if (states[i] === 'current') return
  lacking++
  process.stdout.write(`${runnumber} ${tag} ${type} ${states[i]}\n`)
})
process.stdout.write(`${lacking} of ${runs.length} runs of ${runType} lack a current ${type} in ${globalTag}\n`)
