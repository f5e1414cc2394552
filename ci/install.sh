#!/usr/bin/env bash
# Installs lblab for use, as root, after ci/setup.sh:
#
#   sudo ci/install.sh          builds the release binaries (ci/build-release.sh) and installs
#                               /usr/local/bin/lblab, /usr/local/bin/lblab-agent (the real
#                               servers' program, which lblab looks for next to itself), the labs in /usr/local/share/lblab/labs
#                               (where lblab's catalog looks, next to its binary) and the docs in
#                               /usr/local/share/doc/lblab
#
# PREFIX=/some/dir installs there instead (PREFIX/bin must be on PATH). Then, in any shell:
# `lblab list`. Checks that a new login shell finds lblab and its labs, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
if [ ! -w "$(dirname "$PREFIX")" ] && [ ! -w "$PREFIX" ]; then
  echo "install: cannot write to $PREFIX: run me as root (sudo ci/install.sh) or set PREFIX to a directory you own" >&2
  exit 2
fi
echo "== build (release)"
bin=$(bash ci/build-release.sh)
echo "built $bin"
labs=$PREFIX/share/lblab/labs
install -d "$PREFIX/bin" "$labs" "$PREFIX/share/doc/lblab"
install -m 0755 "$bin" "$PREFIX/bin/lblab"
install -m 0755 "$(dirname "$bin")/lblab-agent" "$PREFIX/bin/lblab-agent"
# The shipped labs replace the ones an earlier install put there (a lab removed from the
# repository does not linger).
rm -f "$labs"/*.yaml
install -m 0644 labs/*.yaml "$labs/"
install -m 0644 docs/*.md "$PREFIX/share/doc/lblab/"
n=$(ls "$labs"/*.yaml | wc -l)
echo "installed $PREFIX/bin/lblab and lblab-agent, $n labs in $labs, the docs in $PREFIX/share/doc/lblab"

# As a user meets it: a new login shell, a clean environment, far from this checkout.
found=$(env -i HOME="${HOME:-/root}" TERM=dumb bash -lc 'cd / && command -v lblab && lblab list' 2>&1) || {
  echo "install: a new shell cannot run 'lblab list':" >&2; echo "$found" >&2; exit 2
}
where=$(echo "$found" | head -1)
if [ "$where" != "$PREFIX/bin/lblab" ]; then
  echo "install: a new shell runs $where, not $PREFIX/bin/lblab: put $PREFIX/bin first on PATH (or remove $where)" >&2
  exit 2
fi
if [ "$(echo "$found" | tail -n +2 | wc -l)" -lt "$n" ]; then
  echo "install: 'lblab list' in a new shell does not show the $n installed labs:" >&2; echo "$found" >&2; exit 2
fi
echo "install: a new shell finds $where; 'lblab list' there shows:"
echo "$found" | tail -n +2 | sed 's/^/  /'
