#!/bin/bash
# genStatus.sh BIN LIST OUTDIR, written by caloprod (tasks/condor.ts): one condor job of the calorimeter
# calibration production. Runs BIN (CaloCDB-GenStatus) on LIST in the job's scratch directory and puts what it
# writes under ./output into OUTDIR, each entry replacing the one there whole. Exits 0 once that is done, BIN's exit
# code when BIN fails (128+N when a signal N kills it), 1 when BIN wrote no file; any other failure non-zero, loudly.
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

if [[ ! -r $list ]]; then
  # CaloCDB-GenStatus itself says "Failed to open file list" and exits 0, as if it had run.
  echo "genStatus.sh: cannot read the file list $list on $(hostname); nothing run, nothing copied" >&2
  exit 1
fi

echo "genStatus.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname): $bin $list"
status=0
"$bin" "$list" || status=$?
if [[ $status -ne 0 ]]; then
  echo "genStatus.sh: $bin failed (exit $status) on $list; nothing copied to $outdir" >&2
  exit "$status"
fi

# CaloCDB-GenStatus exits 0 whatever it could read, and makes its folders before reading: a job that wrote no file
# at all (no listed ROOT file opened) failed, so the run is sent again rather than called done with nothing.
if [[ -z $(find output -type f -print -quit) ]]; then
  echo "genStatus.sh: $bin wrote no file under ./output for $list (see its stdout); nothing copied to $outdir" >&2
  exit 1
fi

# Each entry (the run's folder <run>_<tag>) replaces the one in OUTDIR whole: copied under a hidden name first, then
# renamed into place, so OUTDIR never holds a half-copied file (a job killed while copying) nor a file an earlier
# attempt of the run wrote and this one did not.
shopt -s nullglob dotglob
mkdir -p -- "$outdir"
id=$(hostname).$$
for entry in output/*; do
  name=${entry#output/}
  rm -rf -- "$outdir/.$name.caloprod-"*
  cp -R -- "$entry" "$outdir/.$name.caloprod-new.$id"
  if [[ -e $outdir/$name || -L $outdir/$name ]]; then
    mv -T -- "$outdir/$name" "$outdir/.$name.caloprod-old.$id"
  fi
  mv -T -- "$outdir/.$name.caloprod-new.$id" "$outdir/$name"
  rm -rf -- "$outdir/.$name.caloprod-old.$id"
  echo "genStatus.sh: copied $name to $outdir"
done
exit 0
