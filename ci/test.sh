#!/usr/bin/env bash
# Sets up everything and passes the tests: unit tests natively, then the integration tests
# against real kernel IPVS - natively where this kernel has IPVS, else in one kernel VM boot.
# Fails if the integration tests did not run.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
start=$(date +%s)

bash ci/setup.sh
/usr/bin/python3 ci/check-setup.py && /usr/bin/python3 ci/check-setup.py --self-test
# --- begin: lblab in other projects' CI (issue 5, part 5) ---
# The JUnit-reader and workflow-linter tests must run here, not skip.
export LBLAB_REQUIRE_CI_TOOLS=1
# --- end: lblab in other projects' CI ---
echo "== build"
swift build --build-tests > /tmp/lblab-build.log 2>&1 || { tail -60 /tmp/lblab-build.log; echo "build FAILED"; exit 1; }
tail -1 /tmp/lblab-build.log
bin=$(swift build --show-bin-path)
# The example package (a project whose tests use LblabRuntime, depending on this checkout by
# path): built here, its tests run in the same kernel VM boot as the integration tests.
example=examples/swift-package
echo "== build $example"
t0=$(date +%s)
swift build --package-path "$example" --build-tests > /tmp/lblab-example-build.log 2>&1 \
  || { tail -60 /tmp/lblab-example-build.log; echo "example build FAILED"; exit 1; }
echo "example built in $(( $(date +%s) - t0 )) s"
example_runner="$(swift build --package-path "$example" --show-bin-path)/WebTierPackageTests.xctest --testing-library swift-testing"

echo "== unit tests (native, no IPVS needed)"
set +e; swift test --skip-build --skip LblabIntegrationTests > /tmp/lblab-unit.log 2>&1; status=$?; set -e
grep -E 'recorded an issue|failed after|error:|Test run with|Executed [0-9]+ test' /tmp/lblab-unit.log || true
[ "$status" = 0 ] || { echo "unit tests FAILED (full log: /tmp/lblab-unit.log)"; exit 1; }

echo "== integration tests and the example's tests (real kernel IPVS)"
# Each runner writes its own log into a directory both sides see (the VM's writable share).
logs=$(mktemp -d /tmp/lblab-ci-logs.XXXXXX)
runner="LBLAB_REQUIRE_INTEGRATION=1 $bin/lblabPackageTests.xctest --testing-library swift-testing --filter LblabIntegrationTests --filter IntegrationEnvironment > $logs/integration.log 2>&1; echo \$? > $logs/integration.status; $example_runner > $logs/example.log 2>&1; echo \$? > $logs/example.status"
t0=$(date +%s)
if [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; then
  echo "this kernel has IPVS: running natively"
  bash -c "$runner" || true
else
  echo "this kernel ($(uname -r)) has no IPVS: running in the kernel VM"
  LBLAB_VM_RWDIRS="$logs" bash ci/vm.sh "$runner" > "$logs/vm.log" 2>&1 || true
  grep -aE 'ci/vm.sh|vm-ram' "$logs/vm.log" || true
fi
echo "ran in $(( $(date +%s) - t0 )) s"
log=$logs/integration.log
status=$(cat "$logs/integration.status" 2>/dev/null || echo 125)
[ "$status" = 125 ] && { echo "the integration runner left no status (the VM did not boot?):"; tail -30 "$logs/vm.log"; }
grep -E 'recorded an issue|passed after|failed after|skipped|Test run with|Program crashed' "$log" | grep -v ' started' || true
ran=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -1 || true)
skipped=$(grep -c ' skipped: ' "$log" || true)
echo "== summary: integration runner exit $status, ${ran:-0} tests, $skipped skipped lines, $(( $(date +%s) - start )) s in all"
if [ "$status" != 0 ]; then echo "integration tests FAILED (log $log)"; exit 1; fi
if [ -z "$ran" ] || [ "$ran" -lt 10 ] || [ "$skipped" != 0 ] || grep -q 'INTEGRATION TESTS SKIPPED' "$log"; then
  echo "integration tests did NOT run against IPVS: failing"; exit 1
fi
echo "integration tests passed against real IPVS"
# --- lblab in other projects' CI (issue 5, part 5): the example package's tests ---
elog=$logs/example.log
estatus=$(cat "$logs/example.status" 2>/dev/null || echo 125)
grep -E 'recorded an issue|passed after|failed after|Test run with|Program crashed' "$elog" | grep -v ' started' || true
eran=$(grep -oE 'Test run with [0-9]+ tests?' "$elog" | grep -oE '[0-9]+' | tail -1 || true)
[ "$estatus" = 0 ] || { echo "example tests FAILED (exit $estatus, log $elog)"; exit 1; }
# 1 test of the project's own code + 3 lab tests: fewer means the lab tests did not run.
[ "${eran:-0}" -ge 4 ] || { echo "example lab tests did NOT run"; exit 1; }
echo "example package tests passed against real IPVS (${eran} tests)"

# ==== BEGIN host-side lab VM block ===========================================================
# On a kernel without IPVS, `lblab up` runs the lab in a lab VM that lblab boots and owns.
# These checks run on the host (not in a VM): the control channel's tests natively, then
# ci/labvm-host.sh (up -> status -> exec -> test -> down,
# boot failures, crashes, clean). A check that could not run fails CI.
echo "== lab VM: channel and prerequisite tests (native)"
set +e; "$bin/lblabPackageTests.xctest" --testing-library swift-testing --filter LabVMChannelTests > /tmp/lblab-labvm-unit.log 2>&1; status=$?; set -e
grep -E 'recorded an issue|Test run with' /tmp/lblab-labvm-unit.log || true
ran=$(grep -oE 'Test run with [0-9]+ tests?' /tmp/lblab-labvm-unit.log | grep -oE '[0-9]+' | tail -1 || true)
if [ "$status" != 0 ] || [ -z "$ran" ] || [ "$ran" -lt 15 ]; then echo "lab VM channel tests FAILED or did not run (log /tmp/lblab-labvm-unit.log)"; exit 1; fi
echo "== lab VM: host side (the learner's sequence on this kernel)"
if [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; then
  echo "this kernel has IPVS: labs run natively and the lab VM is never used (nothing to check)"
else
  # The debug build: the lab VM copies lblab, lblab-agent and the libraries they load into
  # its memory, so it runs as fast there as the release build's start-up allows.
  set +e; bash ci/labvm-host.sh "$bin/lblab"; status=$?; set -e
  [ "$status" = 0 ] || { echo "lab VM host-side checks FAILED (exit $status)"; exit 1; }
fi
# ==== END host-side lab VM block =============================================================

echo "== all passed in $(( $(date +%s) - start )) s"
