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
echo "== build"
swift build --build-tests > /tmp/lblab-build.log 2>&1 || { tail -60 /tmp/lblab-build.log; echo "build FAILED"; exit 1; }
tail -1 /tmp/lblab-build.log
bin=$(swift build --show-bin-path)

echo "== unit tests (native, no IPVS needed)"
set +e; swift test --skip-build --skip LblabIntegrationTests > /tmp/lblab-unit.log 2>&1; status=$?; set -e
grep -E 'recorded an issue|failed after|error:|Test run with|Executed [0-9]+ test' /tmp/lblab-unit.log || true
[ "$status" = 0 ] || { echo "unit tests FAILED (full log: /tmp/lblab-unit.log)"; exit 1; }

echo "== integration tests (real kernel IPVS)"
runner="LBLAB_REQUIRE_INTEGRATION=1 $bin/lblabPackageTests.xctest --testing-library swift-testing --filter LblabIntegrationTests --filter IntegrationEnvironment"
log=/tmp/lblab-integration.log
if [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; then
  echo "this kernel has IPVS: running natively"
  set +e; bash -c "$runner" > "$log" 2>&1; status=$?; set -e
else
  echo "this kernel ($(uname -r)) has no IPVS: running in the kernel VM"
  set +e; bash ci/vm.sh "$runner" > "$log" 2>&1; status=$?; set -e
fi
grep -E 'ci/vm.sh|recorded an issue|passed after|failed after|skipped|Test run with|Program crashed' "$log" || true
ran=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -1 || true)
skipped=$(grep -c ' skipped: ' "$log" || true)
echo "== summary: integration runner exit $status, ${ran:-0} tests, $skipped skipped lines, $(( $(date +%s) - start )) s in all"
if [ "$status" != 0 ]; then echo "integration tests FAILED"; exit 1; fi
if [ -z "$ran" ] || [ "$ran" -lt 10 ] || [ "$skipped" != 0 ] || grep -q 'INTEGRATION TESTS SKIPPED' "$log"; then
  echo "integration tests did NOT run against IPVS: failing"; exit 1
fi
echo "integration tests passed against real IPVS"
