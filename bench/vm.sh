#!/usr/bin/env bash
# Runs lblab's benchmark (bench/run.sh) in the kernel VM, on the host:
#
#   bash bench/vm.sh [LBLAB_BINARY]
#
# Boots the newest /boot/vmlinuz-*-amd64 once under QEMU with virtme-ng (the host's root
# shared read-only over 9p; /run and /tmp are writable inside), runs bench/run.sh there as
# root, and exits with its status (vng passes the guest command's exit status through).
# Software emulation (--disable-kvm): expect a boot of ~15 s and slow steps; the ratios are
# what counts, both sides run in the same boot. BENCH_ROUNDS / BENCH_TARGET are passed on.
# LBLAB_BINARY defaults to .build/release/lblab (else .build/debug/lblab) of this repository.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
  if [ -x "$REPO/.build/release/lblab" ]; then BIN=$REPO/.build/release/lblab; else BIN=$REPO/.build/debug/lblab; fi
fi
[ -x "$BIN" ] || { echo "vm: no lblab binary at $BIN (swift build -c release --product lblab)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

VNG_BIN=${LBLAB_VNG_BIN:-/opt/lblab-vng/bin}
export PATH="$VNG_BIN:$PATH"
command -v vng >/dev/null || { echo "vm: no vng (virtme-ng) in $VNG_BIN: run ci/setup.sh" >&2; exit 1; }
KERNEL=${LBLAB_VM_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)}
[ -f "$KERNEL" ] || { echo "vm: no kernel at $KERNEL" >&2; exit 1; }

q() { printf '%q' "$1"; }
GUEST="cd $(q "$REPO") && BENCH_ROUNDS=$(q "${BENCH_ROUNDS:-5}") BENCH_TARGET=$(q "${BENCH_TARGET:-10}") bash bench/run.sh $(q "$BIN")"

echo "vm: host kernel $(uname -r), $(nproc) CPUs; booting $KERNEL (QEMU, no KVM, 2 vCPUs, 2G) for bench/run.sh"
set +e
vng -r "$KERNEL" --disable-kvm --force-9p --memory 2G --cpus 2 --exec "$GUEST"
rc=$?
set -e
echo "vm: bench/run.sh in the VM ($KERNEL) exited with status $rc"
exit $rc
