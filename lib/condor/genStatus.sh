#!/bin/bash
# genStatus.sh BIN LIST OUTDIR, written by caloprod (tasks/condor.ts): one condor job of the calorimeter
# calibration production. Runs BIN (CaloCDB-GenStatus) on LIST in the job's scratch directory and copies what
# it writes under ./output to OUTDIR. Exits with BIN's exit code; any other failure exits non-zero loudly.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "genStatus.sh: expected 3 arguments (BIN LIST OUTDIR), got $#" >&2
  exit 2
fi
bin=$1
list=$2
outdir=$3

# As the collaboration's job scripts do: condor starts jobs without a login environment.
USER=$(id -u -n)
export USER
export LOGNAME=$USER
export HOME=/sphenix/u/$USER

setup=${CALOPROD_SPHENIX_SETUP:-/opt/sphenix/core/bin/sphenix_setup.sh}
# The setup script reads unset variables and returns non-zero from inner tests: source it without -e and -u.
set +eu
source "$setup" -n new
status=$?
set -eu
if [[ $status -ne 0 ]]; then
  echo "genStatus.sh: sourcing $setup -n new failed (exit $status)" >&2
  exit 1
fi

if [[ -z ${_CONDOR_SCRATCH_DIR:-} ]]; then
  echo "genStatus.sh: _CONDOR_SCRATCH_DIR is not set; this script runs as a condor job" >&2
  exit 1
fi
cd "$_CONDOR_SCRATCH_DIR"
mkdir -p output

echo "genStatus.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname): $bin $list"
status=0
"$bin" "$list" || status=$?
if [[ $status -ne 0 ]]; then
  echo "genStatus.sh: $bin failed (exit $status) on $list; nothing copied to $outdir" >&2
  exit "$status"
fi

shopt -s nullglob dotglob
written=(output/*)
if [[ ${#written[@]} -eq 0 ]]; then
  echo "genStatus.sh: $bin wrote nothing under ./output for $list" >&2
  exit 1
fi
mkdir -p -- "$outdir"
cp -R -- "${written[@]}" "$outdir"/
echo "genStatus.sh: copied ${#written[@]} entries to $outdir"
exit "$status"
