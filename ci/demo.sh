#!/usr/bin/env bash
# The main job, from a fresh Debian/Ubuntu machine as root: install what lblab needs
# (ci/setup.sh), build and install lblab on PATH (ci/install.sh), and test the DR lab end to
# end with the installed lblab (real traffic through kernel IPVS, captures, verdicts).
# Where the running kernel has no IPVS, `lblab test` runs the lab in a kernel VM and says so.
# Extra arguments go to `lblab test`, e.g. ci/demo.sh --set arp_fix=false
# Exit status: lblab test's (0 every rule held, 1 a rule failed, 2 it could not run).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
start=$(date +%s)
phase() { echo "== $* ($(( $(date +%s) - start )) s)"; }

# Anything that fails before the test exits 2 (lblab's "could not do what was asked"), never 1.
phase "setup"
bash ci/setup.sh || { echo "demo: ci/setup.sh failed (see above)" >&2; exit 2; }
phase "install"
bash ci/install.sh || { echo "demo: ci/install.sh failed (see above)" >&2; exit 2; }
# From here on, lblab as a user runs it: the one on PATH.
export PATH="/usr/local/bin:$PATH"
phase "lblab doctor"
lblab doctor || true
phase "lblab test dr-basic $*"
set +e
lblab test dr-basic "$@"
status=$?
set -e
phase "done: lblab test exited $status"
exit "$status"
