#!/usr/bin/env bash
# lblab's scale benchmark, run INSIDE the kernel VM (as root, on a kernel with IPVS);
# bench/vm.sh boots the VM and runs it there.
#
#   bash bench/scale.sh [LBLAB_BINARY]
#
# For each size N in BENCH_SIZES (default "2 16 64 256" real servers), a DR lab with N real
# servers (labs/dr-scale.yaml with --set rs.count=N up to 154; above, bench/labs/dr-scale-2net.yaml,
# two groups in two subnets) is built and taken down by `lblab up` / `lblab down` and by the
# fastest shell script we know for the same lab, generated from lblab's own plan
# (`lblab up --dry-run --json` -> bench/plan2sh.py): one `ip -batch` for the namespaces, per
# namespace one `sysctl -w k=v ...` and one `ip -n NS -batch`, one `ipvsadm -R`, the same
# lblab-agent started directly (readiness awaited as lblab does); down: kill the agents, wait,
# one `ip -batch` of `netns del`.
#   1. Same lab: after an untimed warm-up of each side, the kernel state of both labs (links,
#      addresses, routes, every /proc/sys/net value, the IPVS table, listening sockets, the
#      processes in each namespace: bench/snapshot.py) must be identical.
#   2. Timing: BENCH_ROUNDS rounds (default 5; BENCH_ROUNDS_LARGE, default 3, from 256 on),
#      each timing up and down of both sides, which side goes first alternating; both sides run
#      from the guest's RAM (the host's root reaches the guest over an uncached 9p share that
#      would bill every exec). Medians, time per real server, ratios shell/lblab.
#   3. BENCH_PROFILE (default "64"): at these sizes, one more untimed `LBLAB_LOG=trace lblab up`,
#      its step times summed by kind (bench/profile.py).
#   4. `lblab test` of the 64-server lab (when 64 is among the sizes): every connection answered,
#      the rr distribution exact (each server within one connection of the mean), all rules pass.
# Exit status 0 when the labs matched, the test passed and up at 64 servers reached
# BENCH_TARGET (default 10) times the shell's speed; 1 otherwise.
set -euo pipefail
# The whole script is one function, read before it runs: editing this file during a run (the
# host's copy, over 9p) cannot change what runs.
main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SIZES="${BENCH_SIZES:-2 16 64 256}"
ROUNDS=${BENCH_ROUNDS:-5}
ROUNDS_LARGE=${BENCH_ROUNDS_LARGE:-3}
TARGET=${BENCH_TARGET:-10}
SETTLE=${BENCH_SETTLE:-auto}
OUT=${BENCH_OUT:-/tmp/bench-scale}
PROFILE=${BENCH_PROFILE-64}

BIN=${1:-}
if [ -z "$BIN" ]; then
  if [ -x .build-release-static/release/lblab ]; then BIN=.build-release-static/release/lblab
  elif [ -x .build/release/lblab ]; then BIN=.build/release/lblab; else BIN=.build/debug/lblab; fi
fi
[ -x "$BIN" ] || { echo "scale: no lblab binary at $BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
AGENT=$(dirname "$BIN")/lblab-agent
[ -x "$AGENT" ] || { echo "scale: no lblab-agent next to $BIN (ci/build-release.sh builds both)" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "scale: needs root (run it in the VM: bash bench/vm.sh)" >&2; exit 1; }
for tool in ip ipvsadm nsenter sysctl python3 timeout head tr mkfifo; do
  command -v "$tool" >/dev/null || { echo "scale: $tool is missing" >&2; exit 1; }
done
modprobe ip_vs
[ -e /proc/net/ip_vs ] || { echo "scale: this kernel ($(uname -r)) has no IPVS" >&2; exit 1; }
# Load the rr scheduler now, so neither side's first round pays for it.
modprobe ip_vs_rr || true

rm -rf "$OUT"; mkdir -p "$OUT"
# Both sides run from the guest's RAM (tmpfs): executables, shared libraries and lab files.
ROOT=/tmp/bench-root
rm -rf "$ROOT"; mkdir -p "$ROOT/bin" "$ROOT/lib" "$ROOT/labs"
for exe in "$BIN" "$AGENT" $(type -P bash ip ipvsadm nsenter sysctl timeout head tr mkfifo rm); do
  cp "$exe" "$ROOT/bin/"
  { ldd "$exe" 2>/dev/null || true; } | { grep -oE '/[^ ]+\.so[^ ]*' || true; } | while read -r lib; do
    cp -n "$lib" "$ROOT/lib/" 2>/dev/null || true
  done
done
cp labs/dr-scale.yaml bench/labs/dr-scale-2net.yaml "$ROOT/labs/"
# The helpers too (read once per size: a copy taken now).
cp bench/plan2sh.py bench/snapshot.py bench/profile.py "$ROOT/"
BIN=$ROOT/bin/lblab
AGENT=$ROOT/bin/lblab-agent
export PATH="$ROOT/bin:$PATH" LD_LIBRARY_PATH="$ROOT/lib"

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "scale: kernel $(uname -r), $(nproc) CPUs, guest load $(load); lblab $(stat -c %s "$BIN") bytes, lblab-agent $(stat -c %s "$AGENT") bytes; sizes: $SIZES; binaries run from RAM"

# lab_args N: the lab file and settings for N real servers (one group up to 154, else two).
lab_args() {
  local n=$1
  if [ "$n" -le 154 ]; then
    echo "$ROOT/labs/dr-scale.yaml --set rs.count=$n"
  else
    echo "$ROOT/labs/dr-scale-2net.yaml --set rsa.count=$((n / 2)) --set rsb.count=$((n - n / 2))"
  fi
}

leftovers() { ip netns list | awk '{print $1}' | grep -E '^(lblab-|shbench-)' || true; }
check_clean() {
  local left
  left=$(leftovers)
  [ -z "$left" ] || { echo "scale: left behind after $1: $(echo $left | head -c 300)" >&2; exit 1; }
}

# Namespaces are freed by the kernel after `ip netns del` / `lblab down` return: cleanup_net runs
# in the "netns" work queue, for seconds with hundreds of namespaces under emulation, holding the
# RTNL lock that every link and address change needs. Before the next timed command, wait until
# no kernel worker is running that queue (its /proc/PID/comm reads kworker/...+netns while it does)
# and the guest's CPUs are idle (85% over 0.2 s, from /proc/stat), so no side pays for the other's
# teardown. Pauses wait on a FIFO and the checks use bash builtins: no process is started.
mkfifo "$OUT/tick"; exec 9<>"$OUT/tick"
pause() { read -rt "$1" -u 9 || :; }
netns_worker_busy() {
  local f c
  for f in /proc/[0-9]*/comm; do
    { read -r c <"$f"; } 2>/dev/null || continue
    [[ $c == kworker* && $c == *+netns* ]] && return 0
  done
  return 1
}
settle() {
  local k u n s i w q sq st i0 t0
  [ "$SETTLE" = auto ] || { pause "$SETTLE"; return; }
  for ((k = 0; k < 600; k++)); do
    if netns_worker_busy; then pause 0.1; continue; fi
    read -r _ u n s i w q sq st _ </proc/stat; i0=$((i + w)); t0=$((u + n + s + i + w + q + sq + st))
    pause 0.2
    read -r _ u n s i w q sq st _ </proc/stat
    (( (i + w - i0) * 100 >= (u + n + s + i + w + q + sq + st - t0) * 85 )) && ! netns_worker_busy && return
  done
  echo "scale: the guest was still busy (or cleaning up namespaces) 60 s after a teardown" >&2
}

# timed FILE CMD...: runs CMD quietly, appends its wall time in ns to FILE (bash's clock: no process).
timed() {
  local file=$1 t0 t1
  shift
  t0=$EPOCHREALTIME
  if ! "$@" >"$OUT/cmd.out" 2>&1; then
    echo "scale: '$*' failed:" >&2
    cat "$OUT/cmd.out" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) * 1000 )) >>"$file"
}
median() { sort -n "$1" | awk '{v[NR]=$1} END {printf "%.0f\n", NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
secs() { awk -v n="$1" 'BEGIN {printf "%.3f", n/1e9}'; }
ms_per() { awk -v n="$1" -v k="$2" 'BEGIN {printf "%.1f", n/1e6/k}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a/b}'; }

check_clean "nothing (before the first size)"
SUMMARY=$OUT/summary.tsv
printf 'servers\tsteps\tlblab_up_s\tsh_up_s\tup_ratio\tlblab_down_s\tsh_down_s\tdown_ratio\tlblab_up_ms_per_rs\tsh_up_ms_per_rs\tlblab_down_ms_per_rs\tsh_down_ms_per_rs\trounds\tload\n' >"$SUMMARY"
same=PASS

for n in $SIZES; do
  read -r -a args <<<"$(lab_args "$n")"
  lab=$(basename "${args[0]}" .yaml)
  gen=$OUT/sh-$n
  "$BIN" up "${args[@]}" --dry-run --json >"$OUT/plan-$n.json"
  python3 "$ROOT/plan2sh.py" "$OUT/plan-$n.json" "$gen" --agent "$AGENT"
  steps=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["entries"]))' "$OUT/plan-$n.json")
  [ "$(wc -l <"$gen/steps.txt")" = "$steps" ] || { echo "scale: the script does $(wc -l <"$gen/steps.txt") steps, the plan has $steps" >&2; exit 1; }
  nodes=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1])); pre = "lblab-" + p["lab"] + "-"
print(" ".join(e["step"]["createNamespace"]["name"][len(pre):] for e in p["entries"] if "createNamespace" in e["step"]))' "$OUT/plan-$n.json")
  nns=$(wc -w <<<"$nodes")
  echo
  echo "== $n real servers: lab $lab (${args[*]:1}), $steps steps, $nns namespaces; guest load $(load)"

  # Warm-up of each side (module loading, page cache, slab caches), and the same-lab check.
  "$BIN" up "${args[@]}" >/dev/null
  python3 "$ROOT/snapshot.py" "lblab-$lab-" $nodes >"$OUT/state-lblab-$n.txt"
  "$BIN" down "$lab" >/dev/null
  settle
  bash "$gen/up.sh"
  python3 "$ROOT/snapshot.py" "shbench-" $nodes >"$OUT/state-sh-$n.txt"
  bash "$gen/down.sh"
  settle
  check_clean "the warm-up of $n"
  if diff "$OUT/state-lblab-$n.txt" "$OUT/state-sh-$n.txt" >"$OUT/state-$n.diff"; then
    echo "same lab: identical kernel state ($(wc -l <"$OUT/state-lblab-$n.txt") lines: links, addresses, routes, sysctls, IPVS, listeners, processes)"
  else
    echo "same lab: FAIL, the two labs differ ($(grep -c '^[<>]' "$OUT/state-$n.diff") lines; < lblab, > shell):"
    head -20 "$OUT/state-$n.diff"
    same=FAIL
  fi

  rounds=$ROUNDS
  [ "$n" -lt 256 ] || rounds=$ROUNDS_LARGE
  rm -f "$OUT"/t-"$n"-*
  for ((r = 1; r <= rounds; r++)); do
    sides=(lblab sh)
    (( r % 2 )) || sides=(sh lblab)
    for side in "${sides[@]}"; do
      if [ "$side" = lblab ]; then
        timed "$OUT/t-$n-lblab-up" "$BIN" up "${args[@]}"
        timed "$OUT/t-$n-lblab-down" "$BIN" down "$lab"
      else
        timed "$OUT/t-$n-sh-up" bash "$gen/up.sh"
        timed "$OUT/t-$n-sh-down" bash "$gen/down.sh"
      fi
      settle
    done
    check_clean "round $r of $n"
    last() { awk '{v=$1} END {printf "%.3f", v/1e9}' "$OUT/t-$n-$1"; }
    echo "round $r (${sides[0]} first): lblab up $(last lblab-up) s, down $(last lblab-down) s; shell up $(last sh-up) s, down $(last sh-down) s; guest load $(load)"
  done
  if [[ " $PROFILE " == *" $n "* ]]; then
    # Where lblab's time goes (untimed run): step times by kind, and the phases.
    # (TZ=UTC: the log's timestamps then need no /etc/localtime, which the guest reads over 9p.)
    TZ=UTC LBLAB_LOG=trace "$BIN" up "${args[@]}" >/dev/null 2>"$OUT/trace-$n.txt"
    TZ=UTC LBLAB_LOG=trace "$BIN" down "$lab" >/dev/null 2>"$OUT/trace-down-$n.txt"
    settle
    echo "profile of lblab up, $n real servers (LBLAB_LOG=trace, one run):"
    python3 "$ROOT/profile.py" "$OUT/trace-$n.txt"
    echo "profile of lblab down:"
    python3 "$ROOT/profile.py" "$OUT/trace-down-$n.txt"
  fi
  lu=$(median "$OUT/t-$n-lblab-up"); ld=$(median "$OUT/t-$n-lblab-down")
  su=$(median "$OUT/t-$n-sh-up"); sd=$(median "$OUT/t-$n-sh-down")
  echo "medians of $rounds: up lblab $(secs "$lu") s vs shell $(secs "$su") s = $(ratio "$su" "$lu")x; down lblab $(secs "$ld") s vs shell $(secs "$sd") s = $(ratio "$sd" "$ld")x"
  echo "per real server: up lblab $(ms_per "$lu" "$n") ms, shell $(ms_per "$su" "$n") ms; down lblab $(ms_per "$ld" "$n") ms, shell $(ms_per "$sd" "$n") ms"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$steps" "$(secs "$lu")" "$(secs "$su")" "$(ratio "$su" "$lu")" \
    "$(secs "$ld")" "$(secs "$sd")" "$(ratio "$sd" "$ld")" "$(ms_per "$lu" "$n")" "$(ms_per "$su" "$n")" "$(ms_per "$ld" "$n")" "$(ms_per "$sd" "$n")" \
    "$rounds" "$(load | tr ' ' ,)" >>"$SUMMARY"
done

echo
echo "== the curve (medians; ms per real server = total / servers)"
python3 -c 'import sys; rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]; w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]; print("\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows))' "$SUMMARY"
python3 - "$SUMMARY" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
# The marginal cost of one more real server: slope between consecutive sizes.
for a, b in zip(rows, rows[1:]):
    dn = int(b["servers"]) - int(a["servers"])
    f = lambda k: (float(b[k]) - float(a[k])) * 1000 / dn
    print(f"marginal {a['servers']}->{b['servers']}: up lblab {f('lblab_up_s'):.1f} ms/server, shell {f('sh_up_s'):.1f}; "
          f"down lblab {f('lblab_down_s'):.1f}, shell {f('sh_down_s'):.1f}")
PY

verdict=PASS
up64=$(awk -F'\t' '$1 == 64 {print $5}' "$SUMMARY")
if [ -n "$up64" ]; then
  awk -v u="$up64" -v t="$TARGET" 'BEGIN {exit !(u >= t)}' || verdict=FAIL
  echo "scale: up at 64 real servers ${up64}x the shell's speed (target >= ${TARGET}x): $verdict"
fi
echo "scale: same lab built by both sides at every size: $same"

# lblab test of the 64-server lab: every connection answered, the exact rr distribution.
test_ok=PASS
if [[ " $SIZES " == *" 64 "* ]]; then
  echo
  t0=$EPOCHREALTIME
  set +e
  "$BIN" test "$ROOT/labs/dr-scale.yaml" --set rs.count=64 --json >"$OUT/test-64.json" 2>"$OUT/test-64.err"
  rc=$?
  set -e
  t1=$EPOCHREALTIME
  check_clean "lblab test"
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  python3 - "$OUT/test-64.json" "$rc" "$wall" <<'PY' || test_ok=FAIL
import json, sys
path, rc, wall = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    r = json.load(open(path))
except ValueError as e:
    print(f"test 64: no JSON from lblab test (exit {rc}): {e}"); sys.exit(1)
a = r.get("analysis", r)
sent, answered, failed = a["sent"], a["answered"], a["failed"]
print(f"test 64: {sent} connections, answered {answered}, failed {failed}, wall {wall} s, exit {rc}")
ok = answered == sent and failed == 0
# The per-server counts, wherever the report keeps them: rr over 64 equal servers must give each
# the mean, to within one connection.
counts = None
for key in ("fromClient", "distribution", "perServer", "servers"):
    d = a.get(key)
    if isinstance(d, dict) and d and all(isinstance(v, int) for v in d.values()):
        counts = d
        break
    if isinstance(d, list) and d and isinstance(d[0], dict):
        name = next((k for k in ("server", "node", "name") if k in d[0]), None)
        num = next((k for k in ("client", "count", "connections", "answered") if k in d[0]), None)
        if name and num:
            counts = {x[name]: x[num] for x in d}
            break
if counts is None:
    print("test 64: no per-server counts found in the JSON (keys: " + ", ".join(a) + ")")
else:
    lo, hi = min(counts.values()), max(counts.values())
    print(f"test 64: {len(counts)} servers answered, from {lo} to {hi} connections each")
    ok = ok and len(counts) == 64 and hi - lo <= 1
    cap = a.get("fromCapture")
    if isinstance(cap, dict):
        print(f"test 64: the captures {'agree' if cap == counts else 'DISAGREE'} with the client's counts")
        ok = ok and cap == counts
for v in a.get("verdicts", []):
    print(f"  {'PASS' if v.get('passed') else 'FAIL'} {v.get('rule')}: {v.get('summary')}")
passed = r.get("passed", a.get("passed"))
if passed is not None and (not passed or rc != 0):
    ok = False
sys.exit(0 if ok else 1)
PY
  echo "scale: lblab test of 64 real servers: $test_ok"
  [ "$test_ok" = PASS ] || sed 's/^/  lblab: /' "$OUT/test-64.err" | tail -20
fi

[ "$verdict" = PASS ] && [ "$same" = PASS ] && [ "$test_ok" = PASS ]
}
main "$@"
exit $?
