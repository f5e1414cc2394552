#!/usr/bin/env bash
# Builds examples/swift-package (a project whose tests use lblab's LblabRuntime library; it
# depends on this checkout by path) and runs its tests against real kernel IPVS: natively
# where this kernel has IPVS, else in the kernel VM (ci/vm.sh). Fails if they did not run.
# Prints the build and test times.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
pkg=examples/swift-package
log=/tmp/lblab-example.log
t0=$(date +%s)
swift build --package-path "$pkg" --build-tests > /tmp/lblab-example-build.log 2>&1 \
  || { tail -60 /tmp/lblab-example-build.log; echo "example build FAILED"; exit 1; }
t1=$(date +%s)
runner="$(swift build --package-path "$pkg" --show-bin-path)/WebTierPackageTests.xctest --testing-library swift-testing"
if [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; then
  echo "example: this kernel has IPVS: running its tests natively"
  set +e; bash -c "$runner" > "$log" 2>&1; status=$?; set -e
else
  echo "example: this kernel ($(uname -r)) has no IPVS: running its tests in the kernel VM"
  set +e; bash ci/vm.sh "$runner" > "$log" 2>&1; status=$?; set -e
fi
t2=$(date +%s)
grep -E 'recorded an issue|passed after|failed after|Test run with|Program crashed' "$log" | grep -v ' started' || true
ran=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -1 || true)
echo "== example: build $((t1 - t0)) s, tests $((t2 - t1)) s (exit $status, ${ran:-0} tests; log $log)"
[ "$status" = 0 ] || { echo "example tests FAILED"; exit 1; }
# 1 test of the project's own code + 3 lab tests: fewer means the lab tests did not run.
[ "${ran:-0}" -ge 4 ] || { echo "example lab tests did NOT run"; exit 1; }
