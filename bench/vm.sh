#!/usr/bin/env bash
# Runs lblab's scale benchmark (bench/scale.sh) in the kernel VM, on the host:
#
#   bash bench/vm.sh [LBLAB_BINARY]
#
# Boots the newest /boot/vmlinuz-*-amd64 once under QEMU with virtme-ng (the host's root
# shared read-only over 9p; /run and /tmp are writable inside), runs bench/scale.sh there as
# root, and exits with its status. Software emulation (--disable-kvm): the ratios are what
# counts, both sides run in the same boot. BENCH_SIZES / BENCH_ROUNDS / BENCH_ROUNDS_LARGE /
# BENCH_TARGET / BENCH_SETTLE / BENCH_PROFILE are passed on; BENCH_CMD replaces the guest command (for a probe).
# LBLAB_BINARY defaults to the build of ci/build-release.sh (lblab and lblab-agent), built here.
# The host's load is printed before and after: the machine is shared, and a loaded host slows
# the emulated guest unevenly.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
  BIN=$(bash "$REPO/ci/build-release.sh") || { echo "vm: release build failed" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "vm: no lblab binary at $BIN (bash ci/build-release.sh)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

VNG_BIN=${LBLAB_VNG_BIN:-/opt/lblab-vng/bin}
export PATH="$VNG_BIN:$PATH"
command -v vng >/dev/null || { echo "vm: no vng (virtme-ng) in $VNG_BIN: run ci/setup.sh" >&2; exit 1; }
KERNEL=${LBLAB_VM_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)}
[ -f "$KERNEL" ] || { echo "vm: no kernel at $KERNEL" >&2; exit 1; }

# The guest's console output reaches us late and interleaved, so the guest writes its report,
# the raw timings and its exit status into bench/results/ (writable there through --rwdir).
RESULTS=$REPO/bench/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$RESULTS/scale-$STAMP
mkdir -p "$RUN"
LOG=$RUN/report.log
STATUS=$RUN/status

q() { printf '%q' "$1"; }
envs=""
for v in BENCH_SIZES BENCH_ROUNDS BENCH_ROUNDS_LARGE BENCH_TARGET BENCH_SETTLE BENCH_PROFILE; do
  [ -z "${!v:-}" ] || envs+="$v=$(q "${!v}") "
done
CMD=${BENCH_CMD:-bash bench/scale.sh $(q "$BIN")}
GUEST="cd $(q "$REPO") && { $envs BENCH_OUT=/tmp/bench-scale $CMD; } > $(q "$LOG") 2>&1; rc=\$?; cp /tmp/bench-scale/summary.tsv /tmp/bench-scale/t-* /tmp/bench-scale/*.diff /tmp/bench-scale/test-64.* /tmp/bench-scale/trace-* $(q "$RUN")/ 2>/dev/null; echo \$rc > $(q "$STATUS"); exit \$rc"

echo "vm: host $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); booting $KERNEL (QEMU, no KVM, 2 vCPUs, 2G)"
set +e
vng -r "$KERNEL" --disable-kvm --force-9p --memory 2G --cpus 2 --rwdir "$RUN" --exec "$GUEST" >/dev/null 2>&1 </dev/null
vng_rc=$?
set -e
[ -f "$LOG" ] && cat "$LOG"
if [ -f "$STATUS" ]; then
  rc=$(cat "$STATUS")
else
  echo "vm: the guest left no status (vng exited with $vng_rc: the VM did not boot or run it)" >&2
  rc=$(( vng_rc == 0 ? 1 : vng_rc ))
fi
echo "vm: host load after $(cut -d' ' -f1-3 /proc/loadavg); results in $RUN; exit status $rc"
exit "$rc"
