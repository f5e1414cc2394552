#!/usr/bin/env bash
# lblab's traffic engine against ApacheBench through the same running lab, in one kernel VM boot
# (issue 7: lblab's traffic phase at least as fast as `ab -n N -c C`, captures on for both).
#
#   bash bench/traffic-vs-ab.sh [LBLAB_BINARY ...]
#
# On the host: builds lblab (ci/build-release.sh) unless given, boots the kernel VM once
# (ci/vm.sh) and runs the guest part there. In the guest (`--guest BIN`): brings dr-basic up,
# then BENCH_ROUNDS times (default 3), alternating:
#   - `ab -q -n N -c C` from the client's namespace, with one tcpdump per switch port (the same 4
#     ports lblab captures), timed by ab ("Time taken for tests");
#   - `lblab test dr-basic --set connections=N --set concurrency=C` on the running lab, timed by
#     lblab ("N connections in X s": connect of the first to the end of the last, captures on).
# Prints every time, the best of each and the ratio lblab/ab (below 1: lblab faster).
# Several binaries (a build before and after a change): each round runs ab, then each binary on
# the same running lab (in turn first), so every binary's ratio pairs with the same ab run; a
# median per binary.
# BENCH_N (default 2000) and BENCH_C (default 8) set N and C. `ab` comes from apache2-utils
# (ci/setup.sh with LBLAB_SETUP_BENCH=1). At the end, one profiled round of each (see below).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_N:-2000}
C=${BENCH_C:-8}
ROUNDS=${BENCH_ROUNDS:-3}

if [ "${1:-}" != --guest ]; then
  BINS=("$@")
  if [ ${#BINS[@]} = 0 ]; then
    BINS=("$(bash "$REPO/ci/build-release.sh")") || { echo "traffic-vs-ab: release build failed" >&2; exit 2; }
  fi
  for b in "${BINS[@]}"; do [ -x "$b" ] || { echo "traffic-vs-ab: no lblab binary at $b" >&2; exit 2; }; done
  command -v ab >/dev/null || { echo "traffic-vs-ab: no ab: LBLAB_SETUP_BENCH=1 bash ci/setup.sh (apache2-utils)" >&2; exit 2; }
  exec bash "$REPO/ci/vm.sh" "BENCH_N=$N BENCH_C=$C BENCH_ROUNDS=$ROUNDS bash bench/traffic-vs-ab.sh --guest $(printf '%q ' "${BINS[@]}")"
fi

shift
BINS=("$@")
BIN=${BINS[0]}
LAB=dr-basic
SW=lblab-$LAB-switch
CLIENT=lblab-$LAB-client
PORTS=(client dispatcher rs1 rs2)
OUT=$(mktemp -d /tmp/traffic-vs-ab.XXXXXX)
cleanup() { "$BIN" down "$LAB" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$BIN" up "$LAB" >/dev/null
# One warm-up of each, not counted (first ARP, page cache, the agents' first accept).
ip netns exec "$CLIENT" ab -q -n 50 -c "$C" http://198.51.100.100/ >/dev/null
"$BIN" test "$LAB" --set connections=50 --set "concurrency=$C" >/dev/null || true

ab_round() {
  local p
  local -a pids=()
  for p in "${PORTS[@]}"; do
    ip netns exec "$SW" tcpdump -i "$p" -s 262144 -U -w "$OUT/ab-$p.pcap" 2>"$OUT/tcpdump-$p.err" &
    pids+=($!)
  done
  # tcpdump says "listening on" once its capture is open.
  for p in "${PORTS[@]}"; do
    for _ in $(seq 100); do grep -q "listening on" "$OUT/tcpdump-$p.err" && break; sleep 0.05; done
  done
  ip netns exec "$CLIENT" ab -q -n "$N" -c "$C" http://198.51.100.100/ > "$OUT/ab.txt"
  kill -INT "${pids[@]}"
  wait "${pids[@]}" 2>/dev/null || true
  awk '/^Time taken for tests:/ {print $5}' "$OUT/ab.txt"
}

lblab_round() {
  local BIN=$1
  "$BIN" test "$LAB" --set "connections=$N" --set "concurrency=$C" > "$OUT/lblab.txt" || {
    cat "$OUT/lblab.txt" >&2
    echo "traffic-vs-ab: lblab test failed" >&2
  }
  sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) s.*/\2/p' "$OUT/lblab.txt" | head -1
}

ab_times=()
declare -A lblab_times ratios
for r in $(seq "$ROUNDS"); do
  a=$(ab_round)
  ab_times+=("$a")
  # The binaries take turns at going first after ab (the first run after ab was measured
  # faster, whichever binary it was).
  order=("${!BINS[@]}")
  if [ $((r % 2)) = 0 ]; then mapfile -t order < <(printf '%s\n' "${!BINS[@]}" | sort -rn); fi
  for k in "${order[@]}"; do
    l=$(lblab_round "${BINS[$k]}")
    echo "round $r: ab $a s, lblab${k/#0/} $l s, lblab/ab $(awk -v l="$l" -v a="$a" 'BEGIN {printf "%.2f", l / a}') ($N connections, concurrency $C, captures on; ${BINS[$k]})"
    ratios[$k]+="$(awk -v l="$l" -v a="$a" 'BEGIN {printf "%.3f", l / a}') "
    lblab_times[$k]+="$l "
  done
done
best() { printf '%s\n' "$@" | sort -g | head -1; }
ab_best=$(best "${ab_times[@]}")
for k in "${!BINS[@]}"; do
  # shellcheck disable=SC2086
  lblab_best=$(best ${lblab_times[$k]})
  echo "best: ab $ab_best s, lblab $lblab_best s; lblab/ab = $(awk -v l="$lblab_best" -v a="$ab_best" 'BEGIN {printf "%.2f", l / a}') (${BINS[$k]})"
  # Each round pairs the two back to back: the median of the rounds' ratios is the least
  # sensitive to a loaded host (the guest is emulated; its speed follows the host's load).
  # shellcheck disable=SC2086
  echo "median of the rounds' lblab/ab: $(printf '%s\n' ${ratios[$k]} | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}') (${BINS[$k]})"
done
grep -E "connections in|^(PASS|FAIL)" "$OUT/lblab.txt"
# Where the time goes: one more round of each, timed by /usr/bin/time (CPU of ab, of the 4
# tcpdumps, of lblab), and lblab's own account of its traffic (LBLAB_LOG=debug: namespace hops,
# time in poll, CPU of the engine's thread and of the whole process, captures included).
echo "profile:"
/usr/bin/time -f "  ab: %e s wall, %U s user, %S s sys" ip netns exec "$CLIENT" ab -q -n "$N" -c "$C" http://198.51.100.100/ 2>&1 >/dev/null | tail -1
for b in "${BINS[@]}"; do
  LBLAB_LOG=debug "$b" test "$LAB" --set "connections=$N" --set "concurrency=$C" > "$OUT/lblab.txt" 2> "$OUT/lblab.err" || true
  grep "\] traffic$" "$OUT/lblab.err" | sed "s/^.*lblab :/  lblab:/; s/ \[LblabRuntime\] traffic$//" | tail -1 || echo "  lblab: no traffic line in its debug log"
done
