#!/usr/bin/env bash
# Times `lblab analyze DIR` against tshark on the same pcaps, in the same script:
#
#   bash bench/analysis.sh RUN_DIR [LBLAB_BINARY]
#
# RUN_DIR is a run saved by `lblab test LAB --captures RUN_DIR` (run.json and one pcap per
# capture point). Record one in the kernel VM, e.g. 5,000 connections of dr-basic:
#   LBLAB_VM_RWDIRS=/tmp/run5k bash ci/vm.sh "$(bash ci/build-release.sh) test dr-basic --set connections=5000 --captures /tmp/run5k"
# (big runs stay out of git). LBLAB_BINARY defaults to the build of ci/build-release.sh.
#
# Each side runs BENCH_ROUNDS times (default 5), alternating; the medians are compared:
#   lblab      `lblab analyze RUN_DIR` (reads every pcap and run.json, decodes, judges, prints)
#   tshark     `tshark -r X -T fields -e ...` for every pcap in turn, with the fields the rules read
#              (Ethernet addresses, ARP opcode/sender, IPv4 addresses/protocol, TCP ports/flags)
#   reference  tshark's TCP conversation table (-z conv,tcp) and `tcpdump -e -nn -r X`, once each
# Then lblab alone on the first quarter and half of the run (every pcap cut at the same instant with
# editcap), to show the time grows linearly with frames. Prints the ratio tshark / lblab and
# exits 1 when it is below BENCH_TARGET (default 10).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-}
[ -n "$DIR" ] && [ -f "$DIR/run.json" ] || {
  echo "analysis: usage: bash bench/analysis.sh RUN_DIR [LBLAB_BINARY]; RUN_DIR needs run.json and the pcaps of a saved run" >&2
  echo "analysis: record one with: LBLAB_VM_RWDIRS=/tmp/run5k bash ci/vm.sh \"\$(bash ci/build-release.sh) test dr-basic --set connections=5000 --captures /tmp/run5k\"" >&2
  exit 2
}
DIR=$(cd "$DIR" && pwd)
BIN=${2:-}
if [ -z "$BIN" ]; then
  BIN=$(bash "$REPO/ci/build-release.sh") || { echo "analysis: release build failed" >&2; exit 2; }
fi
[ -x "$BIN" ] || { echo "analysis: no lblab binary at $BIN" >&2; exit 2; }
for tool in tshark editcap capinfos tcpdump; do
  command -v "$tool" >/dev/null || { echo "analysis: $tool missing: LBLAB_SETUP_BENCH=1 ci/setup.sh installs the reference tools" >&2; exit 2; }
done
ROUNDS=${BENCH_ROUNDS:-5}
TARGET=${BENCH_TARGET:-10}
shopt -s nullglob
PCAPS=("$DIR"/*.pcap)
[ ${#PCAPS[@]} -gt 0 ] || { echo "analysis: no pcaps in $DIR" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lblab-bench-analysis.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# timed CMD...: runs CMD under GNU time; sets WALL and CPU (user + system, children included) in
# seconds and RSS (peak, KB) for the last run, and returns CMD's status.
timed() {
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" "$@" || rc=$?
  read -r WALL u s RSS < <(tail -1 "$TMP/time")
  CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  return $rc
}

# lblab analyze exits 0 (rules hold) or 1 (a rule failed): both are a judged run; 2 is an error.
lblab_analyze() {
  local rc=0
  timed "$BIN" analyze "$1" > /dev/null || rc=$?
  [ "$rc" -le 1 ] || { echo "analysis: lblab analyze $1 failed (exit $rc)" >&2; exit 2; }
}
FIELDS=(-e frame.time_epoch -e eth.src -e eth.dst -e arp.opcode -e arp.src.hw_mac -e arp.src.proto_ipv4
        -e ip.src -e ip.dst -e ip.proto -e tcp.srcport -e tcp.dstport -e tcp.flags)
# Every pcap in turn (tshark warns on stderr when run as root).
tshark_fields() { timed bash -c 'for p in "${@:2}"; do tshark -n -r "$p" -T fields $1 > /dev/null 2>&1 || exit 2; done' _ "${FIELDS[*]}" "${PCAPS[@]}"; }

frames=0
for p in "${PCAPS[@]}"; do
  n=$(capinfos -M -c -T "$p" | awk -F'\t' 'NR == 2 { print $2 }')
  frames=$((frames + n))
done
connections=$(grep -c '"localPort"' "$DIR/run.json" || true)
echo "analysis: $DIR: ${#PCAPS[@]} pcaps, $frames frames, $connections connections; $ROUNDS rounds each"
echo "analysis: host $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); lblab $BIN; $(tshark --version 2>/dev/null | head -1)"

lblab_analyze "$DIR"  # warm the page cache for both sides
lw=(); lc=(); tw=(); tc=()
for ((i = 1; i <= ROUNDS; i++)); do
  lblab_analyze "$DIR"; lw+=("$WALL"); lc+=("$CPU"); rss=$RSS
  tshark_fields; tw+=("$WALL"); tc+=("$CPU")
done
L=$(median "${lw[@]}"); T=$(median "${tw[@]}"); LC=$(median "${lc[@]}"); TC=$(median "${tc[@]}")
timed bash -c 'for p; do tshark -n -r "$p" -q -z conv,tcp > /dev/null 2>&1; done' _ "${PCAPS[@]}"; conv="$WALL s wall, $CPU s CPU"
timed bash -c 'for p; do tcpdump -e -nn -r "$p" > /dev/null 2>&1; done' _ "${PCAPS[@]}"; tcpd="$WALL s wall, $CPU s CPU"

printf '%-36s %10s %10s   %s\n' "" "wall" "CPU" "wall of each round"
printf '%-36s %9ss %9ss   %s\n' "lblab analyze" "$L" "$LC" "${lw[*]}"
printf '%-36s %9ss %9ss   %s\n' "tshark -T fields ($(( ${#FIELDS[@]} / 2 )) fields)" "$T" "$TC" "${tw[*]}"
echo "tshark -z conv,tcp (once): $conv; tcpdump -e -nn (once): $tcpd"
echo "lblab analyze peak RSS: $rss KB"

# Linear in frames: the first quarter and half of the run, every pcap cut at the same instant.
first=$(capinfos -M -a -T -r -S "${PCAPS[@]}" | awk -F'\t' '{ print $2 }' | sort -g | head -1)
last=$(capinfos -M -e -T -r -S "${PCAPS[@]}" | awk -F'\t' '{ print $2 }' | sort -g | tail -1)
echo "scaling (lblab analyze, medians of $ROUNDS; run.json kept whole, so the cut runs fail the distribution rule):"
for frac in 0.25 0.5 1; do
  if [ "$frac" = 1 ]; then d=$DIR; else
    d=$TMP/$frac; mkdir -p "$d"; cp "$DIR/run.json" "$d/"
    stop=$(awk -v a="$first" -v b="$last" -v f="$frac" 'BEGIN { printf "%.6f", a + (b - a) * f }')
    for p in "${PCAPS[@]}"; do editcap -B "$stop" "$p" "$d/$(basename "$p")"; done
  fi
  n=0; for p in "$d"/*.pcap; do n=$((n + $(capinfos -M -c -T "$p" | awk -F'\t' 'NR == 2 { print $2 }'))); done
  ws=(); cs=(); for ((i = 1; i <= ROUNDS; i++)); do lblab_analyze "$d"; ws+=("$WALL"); cs+=("$CPU"); done
  awk -v f="$frac" -v n="$n" -v w="$(median "${ws[@]}")" -v c="$(median "${cs[@]}")" \
    'BEGIN { printf "  %-5s of the run: %8d frames  %6.2f s wall  %6.2f s CPU  %5.2f us CPU/frame\n", f, n, w, c, c * 1e6 / n }'
done

ratio=$(awk -v t="$T" -v l="$L" 'BEGIN { printf "%.1f", t / l }')
cratio=$(awk -v t="$TC" -v l="$LC" 'BEGIN { printf "%.1f", (l > 0) ? t / l : 0 }')
if awk -v r="$ratio" -v g="$TARGET" 'BEGIN { exit !(r >= g) }'; then verdict="target ${TARGET}x met"; rc=0; else verdict="target ${TARGET}x MISSED"; rc=1; fi
echo "ratio: tshark field extraction / lblab analyze = ${ratio}x wall ($T s / $L s), ${cratio}x CPU ($TC s / $LC s): $verdict"
exit $rc
