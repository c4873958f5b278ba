# Stands in for /opt/sphenix/core/bin/sphenix_setup.sh in tests (genStatus.sh sources it through
# CALOPROD_SPHENIX_SETUP). Like the real one it reads variables that may be unset; it checks its arguments.
if [ "$1" != "-n" ] || [ "$2" != "new" ]; then
  echo "fake sphenix_setup.sh: expected '-n new', got '$*'" >&2
  return 1
fi
if [ -z "$FAKE_SPHENIX_UNSET_PROBE" ]; then
  export OFFLINE_MAIN=/fake/sphenix/offline
fi
export FAKE_SPHENIX_SETUP_DONE=1
