#!/usr/bin/env -S npx tsx
// upload: the finished runs' payload files (output/<run>_<tag>/) -> the plan (default), or with --do-cdb-upload
// the payload store, the CDB (POST piov, PUT piov_attach) and the ledger uploads.csv.
import { checkUploadOptions, connectForUpload, runUpload } from '../lib/upload.js'
import { declareStage } from './main.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'upload',
    summary:
      'For each run of <output>/<runtype>-process.csv whose latest job finished with exit 0, finds its payload\n' +
      'files in <output>/output/<run>_<tag>/ by name and asks the CDB (nopayloaddb, as NOPAYLOADCLIENT_CONF names\n' +
      'it) what it holds for the run; without --do-cdb-upload, prints the plan (one line per run and payload type:\n' +
      'insert, skip and why, or why not) and changes nothing. With --do-cdb-upload and --global-tag: copies each\n' +
      'file into the payload store (write_dir of NOPAYLOADCLIENT_CONF) and inserts it for the IOV [run, run+1), or\n' +
      '[run, ∞) above the type\'s open last IOV (POST piov, PUT piov_attach), each insert in the ledger\n' +
      '<output>/uploads.csv before it starts. CALOPROD_CDB_TOKEN, when set, is sent as a bearer token.',
    flags: ['run-type', 'rules', 'output', 'do-cdb-upload', 'global-tag', 'timeout', 'verbose', 'quiet', 'help'],
    readOnly: (options) => !options.doCdbUpload,
    lock: true,
  },
  async ({ options: resolved, argv, log, env }) => {
    // Acting needs the tag given (a flag or CALOPROD_GLOBAL_TAG), never the reading default: a decision, not a default.
    const tagGiven = argv.some((arg) => arg === '--global-tag' || arg.startsWith('--global-tag=')) || !!env.CALOPROD_GLOBAL_TAG
    const options = { ...resolved, globalTag: tagGiven ? resolved.globalTag : undefined }
    checkUploadOptions(options)
    const connection = await connectForUpload(env, { timeout: options.timeout, needStore: options.doCdbUpload, log })
    const types = resolved.rules.payloadTypes
    const result = await runUpload(options, { env, log, ...connection, readTag: resolved.globalTag, types })
    return result.lines
  },
)
