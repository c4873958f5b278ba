// A child for test/files/append-only.test.ts: reads an uploads.csv as status does (readLatestUploads) and prints how
// many payloads it holds, under whatever heap limit the parent starts node with.
import { readLatestUploads } from '../../lib/upload/ledger.js'

process.stdout.write(`${(await readLatestUploads(process.argv[2]!)).length}\n`)
