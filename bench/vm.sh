#!/usr/bin/env bash
# Runs lblab's benchmark (bench/run.sh) in the kernel VM, on the host:
#
#   bash bench/vm.sh [LBLAB_BINARY]
#
# Boots the newest /boot/vmlinuz-*-amd64 once under QEMU with virtme-ng (the host's root
# shared read-only over 9p; /run and /tmp are writable inside), runs bench/run.sh there as
# root, and exits with its status (vng passes the guest command's exit status through).
# Software emulation (--disable-kvm): expect a boot of ~15 s and slow steps; the ratios are
# what counts, both sides run in the same boot. BENCH_ROUNDS / BENCH_TARGET / BENCH_FS are passed on.
# LBLAB_BINARY defaults to the build of ci/build-release.sh, built here.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
  # The build a user runs (ci/build-release.sh): release, static Swift runtime, no PIE.
  BIN=$(bash "$REPO/ci/build-release.sh") || { echo "vm: release build failed" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "vm: no lblab binary at $BIN (swift build -c release --product lblab)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

VNG_BIN=${LBLAB_VNG_BIN:-/opt/lblab-vng/bin}
export PATH="$VNG_BIN:$PATH"
command -v vng >/dev/null || { echo "vm: no vng (virtme-ng) in $VNG_BIN: run ci/setup.sh" >&2; exit 1; }
KERNEL=${LBLAB_VM_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)}
[ -f "$KERNEL" ] || { echo "vm: no kernel at $KERNEL" >&2; exit 1; }

# The guest's console output reaches us late and interleaved (and padded with NULs), so
# run.sh also writes its report and exit status into bench/results/ (writable in the guest
# through --rwdir), and that copy is what is printed here.
RESULTS=$REPO/bench/results
mkdir -p "$RESULTS"
STAMP=$(date +%Y%m%d-%H%M%S)
LOG=$RESULTS/bench-$STAMP.log
STATUS=$RESULTS/bench-$STAMP.status
rm -f "$STATUS"

q() { printf '%q' "$1"; }
GUEST="cd $(q "$REPO") && BENCH_ROUNDS=$(q "${BENCH_ROUNDS:-5}") BENCH_TARGET=$(q "${BENCH_TARGET:-10}") BENCH_FS=$(q "${BENCH_FS:-ram}") bash bench/run.sh $(q "$BIN") > $(q "$LOG") 2>&1; rc=\$?; echo \$rc > $(q "$STATUS"); exit \$rc"

echo "vm: host kernel $(uname -r), $(nproc) CPUs; booting $KERNEL (QEMU, no KVM, 2 vCPUs, 2G) for bench/run.sh"
set +e
vng -r "$KERNEL" --disable-kvm --force-9p --memory 2G --cpus 2 --rwdir "$RESULTS" --exec "$GUEST" >/dev/null 2>&1
vng_rc=$?
set -e
[ -f "$LOG" ] && cat "$LOG"
if [ -f "$STATUS" ]; then
  rc=$(cat "$STATUS")
else
  echo "vm: bench/run.sh left no status (vng exited with $vng_rc: the VM did not boot or run it)" >&2
  rc=$(( vng_rc == 0 ? 1 : vng_rc ))
fi
echo "vm: results from kernel $(basename "$KERNEL") in QEMU (see the 'bench: kernel' line for uname -r and nproc inside); log $LOG; exit status $rc"
exit "$rc"
