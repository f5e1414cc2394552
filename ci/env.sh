# Sourced by the ci/ scripts: finds the Swift toolchain when it is installed but not on PATH.
if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin "$HOME/.swiftly/bin"; do
    [ -x "$d/swift" ] && export PATH="$PATH:$d" && break
  done
fi
command -v swift >/dev/null 2>&1 || { echo "no Swift toolchain found: install Swift 6 (swift.org) and put it on PATH" >&2; exit 2; }
