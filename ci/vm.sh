#!/usr/bin/env bash
# Runs one command inside a kernel VM that has IPVS (a stock Debian kernel under QEMU via
# virtme-ng, the host's root shared read-only), from the repository root, and exits with the
# command's status. Usage: [LBLAB_VM_RWDIRS="dir ..."] ci/vm.sh 'shell command'
# (the host's root is read-only inside; the listed host directories are writable)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
VNG_VENV=${LBLAB_VNG_VENV:-/opt/lblab-vng}
# The newest installed kernel whose modules include IPVS.
kernel=${LBLAB_VM_KERNEL:-}
if [ -z "$kernel" ]; then
  for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V); do
    [ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel/net/netfilter/ipvs" ] && kernel=$k
  done
fi
[ -n "$kernel" ] || { echo "ci/vm.sh: no kernel with IPVS modules under /boot: run ci/setup.sh" >&2; exit 2; }
[ -x "$VNG_VENV/bin/vng" ] || { echo "ci/vm.sh: no virtme-ng in $VNG_VENV: run ci/setup.sh" >&2; exit 2; }
out=$(mktemp -d /tmp/lblab-vm.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "ci/vm.sh: booting $kernel (QEMU, software emulation) to run: $1"
# The exit status travels through a file in a writable directory, and the output is
# streamed through the console.
rw=(--rwdir "$out")
for d in ${LBLAB_VM_RWDIRS:-}; do mkdir -p "$d"; rw+=(--rwdir "$d"); done
PATH="$VNG_VENV/bin:$PATH" timeout 1800 vng -r "$kernel" --disable-kvm --force-9p --memory 2G --cpus 2 \
    "${rw[@]}" --exec "cd '$repo' && . ci/vm-ram.sh && { $1 ; } ; echo \$? > '$out/status'" </dev/null || true
status=$(cat "$out/status" 2>/dev/null || echo 125)
[ "$status" = 125 ] && echo "ci/vm.sh: the VM did not report a status (boot failure?)" >&2
exit "$status"
