#!/usr/bin/env bash
# The main job, from a fresh Debian/Ubuntu machine as root: install what lblab needs, build it,
# and test the DR lab end to end (real traffic through kernel IPVS, captures, verdicts).
# Where the running kernel has no IPVS, `lblab test` runs the lab in a kernel VM and says so.
# Extra arguments go to `lblab test`, e.g. ci/demo.sh --set arp_fix=false
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
bash ci/setup.sh
echo "== build (release)"
lblab=$(bash ci/build-release.sh)
echo "built $lblab"
echo "== lblab doctor"
"$lblab" doctor || true
echo "== lblab test dr-basic $*"
"$lblab" test dr-basic "$@"
