#!/usr/bin/env bash
# Proves ci/setup.sh the way a new user meets it: removes what it installs, runs it, and
# boots the kernel VM. DESTRUCTIVE: it purges packages from this machine (meant for a
# throw-away CI machine). As root:
#
#   ci/fresh-machine.sh --yes               purge, then ci/setup.sh, ci/check-setup.py, boot the VM
#   ci/fresh-machine.sh --yes --purge-only  only purge (then e.g. `time bash ci/demo.sh`)
#   ci/fresh-machine.sh --dry-run           say what would be purged and kept, change nothing
#
# What is purged: every package of `ci/setup.sh --list` (the VM part too) that is installed,
# plus Debian's busybox, the venvs setup makes (virtme-ng, the CI users' tools), the packages
# that only those pulled in (what `apt-get autoremove` newly offers afterwards, and the
# versioned kernel) and apt's download cache, so that setup has to fetch everything again. A
# package whose removal would take along a package installed by hand (on a developer machine:
# python3, ...) is kept, and listed as kept: a fresh Debian has those from its base
# installation anyway. The running kernel's package is never removed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
VNG_VENV=${LBLAB_VNG_VENV:-/opt/lblab-vng}
CI_TOOLS=${LBLAB_CI_TOOLS:-/opt/lblab-ci-tools}
yes=0 purge_only=0 dry=0
for a in "$@"; do
  case "$a" in
    --yes) yes=1 ;;
    --purge-only) purge_only=1 ;;
    --dry-run) dry=1 ;;
    *) echo "usage: $0 --yes [--purge-only] | --dry-run" >&2; exit 2 ;;
  esac
done
[ $dry = 1 ] || [ "$(id -u)" = 0 ] || { echo "fresh-machine: run me as root" >&2; exit 2; }
[ $yes = 1 ] || [ $dry = 1 ] || { echo "fresh-machine: this purges packages from this machine; give --yes if that is what you want (--dry-run shows what)" >&2; exit 2; }
start=$(date +%s)
phase() { echo "== fresh-machine: $* ($(( $(date +%s) - start )) s)"; }

installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
purged_by() { apt-get -s purge "$@" 2>/dev/null | awk '/^Purg /{print $2}' | sort -u; }
autoremovable() { apt-get -s autoremove 2>/dev/null | awk '/^Remv /{print $2}' | sort -u; }

phase "what ci/setup.sh installs"
# The running kernel's package is never touched (on a machine that boots a Debian kernel,
# the VM's kernel package may be the very one it runs).
running_kernel=$(dpkg-query -S "/boot/vmlinuz-$(uname -r)" 2>/dev/null | cut -d: -f1 || true)
candidates=()
while IFS=$'\t' read -r group pkg _ _; do
  [ "$group" = pip ] && continue
  installed "$pkg" || continue
  candidates+=("$pkg")
  # A kernel metapackage: the versioned kernel it pulled in goes too (autoremove keeps kernels).
  case "$pkg" in linux-image-*|linux-modules-*)
    for dep in $(dpkg-query -W -f='${Depends}' "$pkg" | tr ',|' '\n\n' | sed 's/(.*//; s/ //g' | grep '^linux-'); do
      installed "$dep" && candidates+=("$dep")
    done ;;
  esac
done < <(LBLAB_SETUP_VM=1 bash ci/setup.sh --list)
installed busybox && candidates+=(busybox)
in_list() { local x=$1; shift; local c; for c in "$@"; do [ "$c" = "$x" ] && return 0; done; return 1; }
auto=$(apt-mark showauto)

# Purge a package when all it takes along besides the candidates were pulled in automatically
# (nothing installed by hand goes), and never the running kernel.
purge=() kept=()
for p in "${candidates[@]}"; do
  if [ -n "$running_kernel" ] && { [ "$p" = "$running_kernel" ] || purged_by "$p" | grep -qx "$running_kernel"; }; then
    kept+=("$p (the running kernel needs it)"); continue
  fi
  manual=$(purged_by "$p" | while read -r q; do in_list "$q" "${candidates[@]}" || grep -qx "$q" <<<"$auto" || echo "$q"; done)
  if [ -z "$manual" ]; then purge+=("$p"); else kept+=("$p (needed by $(echo $manual | cut -c1-80))"); fi
done
if [ ${#purge[@]} -gt 0 ]; then
  manual=$(purged_by "${purge[@]}" | while read -r q; do in_list "$q" "${purge[@]}" || grep -qx "$q" <<<"$auto" || echo "$q"; done)
  [ -z "$manual" ] || { echo "fresh-machine: purging ${purge[*]} would also remove $manual: refusing" >&2; exit 2; }
  if [ -n "$running_kernel" ] && purged_by "${purge[@]}" | grep -qx "$running_kernel"; then
    echo "fresh-machine: purging ${purge[*]} would remove the running kernel ($running_kernel): refusing" >&2; exit 2
  fi
fi
if [ $dry = 1 ]; then
  echo "fresh-machine: would purge ${purge[*]:-nothing}"
  also=$( [ ${#purge[@]} -gt 0 ] && purged_by "${purge[@]}" | while read -r q; do in_list "$q" "${purge[@]}" || echo "$q"; done)
  [ -z "$also" ] || echo "fresh-machine: and with them: $(echo $also)"
  for k in "${kept[@]}"; do echo "fresh-machine: would keep $k"; done
  echo "fresh-machine: and remove $VNG_VENV, $CI_TOOLS and apt's download cache"
  exit 0
fi
before=$(autoremovable)
phase "purging ${purge[*]:-nothing}"
for k in "${kept[@]}"; do echo "fresh-machine: kept $k"; done
if [ ${#purge[@]} -gt 0 ]; then
  also=$(purged_by "${purge[@]}" | while read -r q; do in_list "$q" "${purge[@]}" || echo "$q"; done)
  [ -z "$also" ] || echo "fresh-machine: with them, what only they needed: $(echo $also)"
  apt-get purge -y -qq "${purge[@]}" >/dev/null
fi
# What only those packages had pulled in (libraries, the versioned kernel image, ...).
orphans=$(comm -13 <(echo "$before") <(autoremovable))
if [ -n "$orphans" ]; then
  echo "fresh-machine: and what only they pulled in: $(echo $orphans)"
  apt-get purge -y -qq $orphans >/dev/null
fi
rm -rf "$VNG_VENV" "$CI_TOOLS"
apt-get clean
echo "fresh-machine: removed $VNG_VENV, $CI_TOOLS and apt's download cache"
phase "purged"
[ $purge_only = 1 ] && exit 0

phase "ci/setup.sh"
bash ci/setup.sh
phase "ci/check-setup.py"
/usr/bin/python3 ci/check-setup.py
phase "booting the kernel VM"
out=$(mktemp -d /tmp/lblab-fresh.XXXXXX)
trap 'rm -rf "$out"' EXIT
# In the VM: IPVS loads, ipvsadm and busybox run; the answer travels through a writable dir.
LBLAB_VM_RWDIRS="$out" bash ci/vm.sh "modprobe ip_vs && ipvsadm -Ln > '$out/ipvs' && busybox true && echo ok > '$out/ok'" >"$out/log" 2>&1 || true
if [ ! -f "$out/ok" ]; then
  echo "fresh-machine: the kernel VM did not boot or IPVS did not load after ci/setup.sh:" >&2
  tail -30 "$out/log" >&2
  exit 1
fi
head -1 "$out/ipvs"
phase "done: after ci/setup.sh on a purged machine, the kernel VM boots and loads IPVS"
