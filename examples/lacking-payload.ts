#!/usr/bin/env -S npx tsx
// Which runs of a run type lack a current payload of one type in the CDB, asked straight from nopayloaddb:
//   NOPAYLOADCLIENT_CONF=... npx tsx examples/lacking-payload.ts OUTPUT RUN_TYPE [TYPE] [GLOBAL_TAG]
// e.g. `examples/lacking-payload.ts run3pp run3pp CEMC_meanTime`. Reads the run list reduce wrote (<runtype>.csv).
import { caloprod, CaloprodError, GLOBAL_TAG, PAYLOAD_TYPES, type PayloadType, visibleLine } from 'caloprod'

const [output, runType, type = 'CEMC_meanTime', globalTag = GLOBAL_TAG] = process.argv.slice(2)
if (!output || !runType || !(PAYLOAD_TYPES as readonly string[]).includes(type)) {
  process.stderr.write(`usage: lacking-payload.ts OUTPUT RUN_TYPE [TYPE] [GLOBAL_TAG]; TYPE one of ${PAYLOAD_TYPES.join(', ')}\n`)
  process.exit(2)
}
try {
  const c = caloprod({ output, runType, settings: { globalTag } })
  const runs = await c.read.runList()
  const lacking = await c.lacking({ runs, types: [type as PayloadType] })
  for (const { runnumber, tag } of runs) {
    const reasons = lacking.get(runnumber)
    if (reasons) process.stdout.write(`${runnumber} ${tag} ${type} ${reasons.missing.length ? 'missing' : 'outdated'}\n`)
  }
  process.stdout.write(`${lacking.size} of ${runs.length} runs of ${runType} lack a current ${type} in ${globalTag}\n`)
} catch (err) {
  // A missing run list, no NOPAYLOADCLIENT_CONF, a CDB that fails: one line, as the stages say it.
  if (!(err instanceof CaloprodError)) throw err
  process.stderr.write(`lacking-payload: ${visibleLine(err.message)}\n`)
  process.exit(err.exitCode)
}
