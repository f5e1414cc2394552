#!/usr/bin/env bash
# Runs, in order and as written, every command the docs show in their console blocks
# (```console, lines "# CMD"), and fails when one does not work: when it exits other than
# 0, or other than N where the line ends with "# exits N".
#
#   bash ci/run-docs.sh [FILE...]        default: README.md docs/*.md
#
# Runs as root where the user would: on a kernel without IPVS, lblab itself runs the labs in
# its lab VM (`lblab up` boots it). `--vm` runs everything inside one kernel-VM boot instead
# (ci/vm.sh), as on a kernel with IPVS. lblab is the one on PATH (ci/install.sh), or $LBLAB.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
repo=$(pwd)
if [ "${1:-}" = --vm ]; then
  shift
  q=
  [ $# -eq 0 ] || q=$(printf ' %q' "$@")
  exec bash ci/vm.sh "LBLAB=${LBLAB:-} bash ci/run-docs.sh$q"
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(README.md docs/*.md)
for i in "${!files[@]}"; do
  [ -f "${files[$i]}" ] || { echo "run-docs: no such file: ${files[$i]}" >&2; exit 2; }
  files[$i]=$(readlink -f "${files[$i]}")
done
bin=$(mktemp -d /tmp/lblab-docs.XXXXXX)
work=$(mktemp -d /tmp/lblab-docs-work.XXXXXX)
trap 'rm -rf "$bin" "$work"' EXIT
if [ -n "${LBLAB:-}" ]; then ln -s "$(readlink -f "$LBLAB")" "$bin/lblab"; fi
export PATH="$bin:/usr/local/bin:$PATH"
command -v lblab >/dev/null || { echo "run-docs: no lblab on PATH: run ci/install.sh or set LBLAB" >&2; exit 2; }
# The commands run where a user would type them: in a directory of their own, not in the checkout.
cd "$work" || exit 2

n=0 bad=0
for f in "${files[@]}"; do
  while IFS= read -r line; do
    cmd=${line#\# }
    want=0
    if [[ "$cmd" =~ \#\ exits\ ([0-9]+) ]]; then want=${BASH_REMATCH[1]}; fi
    n=$((n + 1))
    t0=$(date +%s.%N)
    out=$(bash -c "$cmd" 2>&1 </dev/null)
    got=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    if [ "$got" = "$want" ]; then
      echo "ok   ${f#$repo/}: $cmd   (exit $got, $secs s)"
    else
      echo "FAIL ${f#$repo/}: $cmd   (exit $got, expected $want, $secs s)"
      echo "$out" | tail -20 | sed 's/^/     | /'
      bad=$((bad + 1))
    fi
  # "# (...)" is a remark about the command before it, not a command.
  done < <(awk '/^```console/ {on=1; next} /^```/ {on=0} on && /^# / && !/^# \(/ {print}' "$f")
done
echo "run-docs: $n commands from ${files[*]#$repo/}: $((n - bad)) worked, $bad did not"
[ $bad = 0 ] && [ $n -gt 0 ]
