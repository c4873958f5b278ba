// What the real tools do when their reader goes away (`condor_q … | head`), from HTCondor's source at 7491a145
// (2026-08-21). Node ignores SIGPIPE and raises EPIPE on stdout instead, which, unheard, ends a fake with a stack
// trace that no real tool prints. Only the fakes' entry points call these, never a module a test imports.
// - condor_q (src/condor_q.V6/queue.cpp main), condor_submit (src/condor_submit.V6/submit.cpp), condor_qedit
//   (src/condor_tools/qedit.cpp) and condor_rm / condor_release (src/condor_tools/tool.cpp) set SIGPIPE to SIG_IGN:
//   their writes to the closed pipe fail unseen (stdio; nothing checks ferror) and each goes on to its usual end and
//   exit status, a submit's jobs queued all the same: `carryOnAfterClosedPipe`.
// - condor_history (src/condor_tools/history.cpp) leaves SIGPIPE at its default and dies of it without a word; the
//   shell says 141 (128 + 13). So do the fakes' own helpers (`fake-condor`, `fake-cdb`), as coreutils do:
//   `endOnClosedPipe` (exit 141: Node cannot restore SIGPIPE's default action to die of the signal itself).
const closedPipe = (error) => error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED'

export function carryOnAfterClosedPipe() {
  process.stdout.on('error', (error) => {
    if (!closedPipe(error)) throw error
  })
}

export function endOnClosedPipe() {
  process.stdout.on('error', (error) => {
    if (!closedPipe(error)) throw error
    process.exit(141)
  })
}
