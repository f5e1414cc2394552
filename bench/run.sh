#!/usr/bin/env bash
# lblab's benchmark, run INSIDE the kernel VM (as root, on a kernel with IPVS); bench/vm.sh
# boots the VM and runs it there.
#
#   bash bench/run.sh [LBLAB_BINARY]
#
# 1. `lblab up dr-basic` / `lblab down dr-basic` against bench/ip-dr-basic.sh up / down (the
#    same lab built with ip, ip netns exec sysctl and ipvsadm) in the same boot: one untimed
#    warm-up of each (module loading, page cache), then BENCH_ROUNDS (default 5) timed rounds,
#    alternating lblab and the shell script; medians and the ratios shell/lblab. Target:
#    lblab at least 10x faster for up and for down (BENCH_TARGET, default 10).
# 2. `lblab test dr-basic --set connections=1000 --json`, timed: every connection accounted
#    (answered + failed = sent) and the test passed.
# Exit status 0 when both hold, 1 otherwise.
#
# LBLAB_BINARY defaults to .build/release/lblab of the repository, else .build/debug/lblab.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
ROUNDS=${BENCH_ROUNDS:-5}
TARGET=${BENCH_TARGET:-10}
LAB=dr-basic
SH="$REPO/bench/ip-dr-basic.sh"

BIN=${1:-}
if [ -z "$BIN" ]; then
  if [ -x .build/release/lblab ]; then BIN=.build/release/lblab; else BIN=.build/debug/lblab; fi
fi
[ -x "$BIN" ] || { echo "bench: no lblab binary at $BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

[ "$(id -u)" = 0 ] || { echo "bench: needs root (run it in the VM: bash bench/vm.sh)" >&2; exit 1; }
for tool in ip ipvsadm busybox python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
modprobe ip_vs
[ -e /proc/net/ip_vs ] || { echo "bench: this kernel ($(uname -r)) has no IPVS" >&2; exit 1; }

# Where both sides run from. The host's root reaches the guest over 9p, mounted sync and without
# a page cache, so every exec re-reads the binary and each shared library through emulated
# virtio: a cost of this harness, not of lblab or of iproute2 (/bin/true takes ~115 ms from the
# share, ~65 ms from RAM). By default both sides are first installed into the guest's RAM
# (tmpfs), executables and shared libraries alike, as they sit in a normal machine's page
# cache; BENCH_FS=9p runs both straight from the share.
FS=${BENCH_FS:-ram}
if [ "$FS" = ram ]; then
  ROOT=/tmp/bench-root
  mkdir -p "$ROOT/bin" "$ROOT/lib"
  for exe in "$BIN" $(type -P bash ip ipvsadm busybox sleep cat mkdir rm kill xargs seq date sed grep awk); do
    cp "$exe" "$ROOT/bin/"
    # (ldd fails on static executables such as busybox: nothing to copy then)
    { ldd "$exe" 2>/dev/null || true; } | { grep -oE '/[^ ]+\.so[^ ]*' || true; } | while read -r lib; do
      cp -n "$lib" "$ROOT/lib/" 2>/dev/null || true
    done
  done
  BIN=$ROOT/bin/$(basename "$BIN")
  export PATH="$ROOT/bin:$PATH" LD_LIBRARY_PATH="$ROOT/lib"
fi

echo "bench: kernel $(uname -r), $(nproc) CPUs, lblab $BIN, $ROUNDS rounds, binaries run from ${FS}"

# The shell script must build the lab lblab builds: compare its commands with lblab's plan.
if ! diff <("$BIN" up "$LAB" --dry-run | sed -E 's/^ *[0-9]* +//' | grep -v '^#' | grep -v lblab-agent \
              | sed "s/lblab-$LAB-/shbench-/g") \
          <(bash "$SH" plan | grep -v 'busybox httpd') >/tmp/bench-plan.diff; then
  echo "bench: bench/ip-dr-basic.sh no longer builds what 'lblab up $LAB --dry-run' plans:" >&2
  cat /tmp/bench-plan.diff >&2
  exit 1
fi
echo "bench: bench/ip-dr-basic.sh runs the same $(bash "$SH" plan | wc -l) steps as lblab's plan"

# Nothing of either lab may be there before a round or after it.
leftovers() { ip netns list | awk '{print $1}' | grep -E "^(lblab-$LAB-|shbench-)" || true; }
check_clean() {
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    echo "bench: left behind after $1: $(echo $left)" >&2
    exit 1
  fi
}
check_clean "nothing (before the first round)"

now() { date +%s%N; }
# timed NAME CMD...: runs CMD quietly, appends its wall time in ns to /tmp/bench-NAME.
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now)
  if ! "$@" >/tmp/bench-out 2>&1; then
    echo "bench: '$*' failed:" >&2
    cat /tmp/bench-out >&2
    exit 1
  fi
  t1=$(now)
  echo $((t1 - t0)) >>"/tmp/bench-$name"
}
rm -f /tmp/bench-{lblab-up,lblab-down,sh-up,sh-down}

# warm-up, untimed
"$BIN" up "$LAB" >/dev/null
"$BIN" down "$LAB" >/dev/null
bash "$SH" up >/dev/null
bash "$SH" down >/dev/null
check_clean "the warm-up"

for r in $(seq "$ROUNDS"); do
  timed lblab-up "$BIN" up "$LAB"
  timed lblab-down "$BIN" down "$LAB"
  timed sh-up bash "$SH" up
  timed sh-down bash "$SH" down
  check_clean "round $r"
  last() { awk '{n=$1} END {printf "%.3f", n/1e9}' "/tmp/bench-$1"; }
  echo "round $r: lblab up $(last lblab-up) s, down $(last lblab-down) s; ip+ipvsadm up $(last sh-up) s, down $(last sh-down) s"
done

# median (ns) of a file of ns, and ns as seconds
median() { sort -n "$1" | awk '{v[NR]=$1} END {printf "%.0f\n", NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
secs() { awk -v n="$1" 'BEGIN {printf "%.3f", n/1e9}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a/b}'; }
lu_ns=$(median /tmp/bench-lblab-up); ld_ns=$(median /tmp/bench-lblab-down)
su_ns=$(median /tmp/bench-sh-up); sd_ns=$(median /tmp/bench-sh-down)
lu=$(secs "$lu_ns"); ld=$(secs "$ld_ns"); su=$(secs "$su_ns"); sd=$(secs "$sd_ns")
ru=$(ratio "$su_ns" "$lu_ns"); rd=$(ratio "$sd_ns" "$ld_ns")

echo
echo "medians of $ROUNDS rounds (wall time):"
echo "up:   lblab $lu s, ip+ipvsadm $su s, ratio ${ru}x"
echo "down: lblab $ld s, ip+ipvsadm $sd s, ratio ${rd}x"
verdict=PASS
awk -v u="$ru" -v d="$rd" -v t="$TARGET" 'BEGIN {exit !(u >= t && d >= t)}' || verdict=FAIL
echo "bench: up ratio ${ru}x, down ratio ${rd}x (target >= ${TARGET}x): $verdict"

# lblab test with 1,000 connections
echo
t0=$(now)
set +e
"$BIN" test "$LAB" --set connections=1000 --json >/tmp/bench-test.json 2>/tmp/bench-test.err
test_rc=$?
set -e
t1=$(now)
check_clean "lblab test"
wall=$(secs $((t1 - t0)))
read -r -d '' CHECK <<'PY' || true
import json, sys
wall, rc = sys.argv[1], int(sys.argv[2])
try:
    r = json.load(sys.stdin)
except ValueError as e:
    print(f"test dr-basic: no JSON from lblab test (exit {rc}): {e}")
    sys.exit(1)
a = r["analysis"]
sent, answered, failed = a["sent"], a["answered"], a["failed"]
print(f"test dr-basic: {sent} connections, answered {answered}, failed {failed}, wall {wall} s"
      f" (lblab's own total {r['totalSeconds']:.3f} s, traffic {r['trafficSeconds']:.3f} s, exit {rc})")
ok = True
if sent != 1000:
    print(f"test dr-basic: sent {sent} connections, not 1000"); ok = False
if answered + failed != sent:
    print(f"test dr-basic: answered + failed = {answered + failed}, not {sent}: connections unaccounted"); ok = False
# TestReport.passed is a computed property and not in the JSON: analysis.passed is; the exit
# status must agree.
passed = r.get("passed", a.get("passed", False))
if not passed or rc != 0:
    bad = [v["rule"] + ": " + v["summary"] for v in a.get("verdicts", []) if not v["passed"]]
    print("test dr-basic: FAILED: " + "; ".join(bad)); ok = False
sys.exit(0 if ok else 1)
PY
if ! python3 -c "$CHECK" "$wall" "$test_rc" </tmp/bench-test.json; then
  echo "bench: lblab test: FAIL" >&2
  sed 's/^/  lblab: /' /tmp/bench-test.err >&2
  exit 1
fi
echo "bench: lblab test: PASS"

[ "$verdict" = PASS ] || exit 1
