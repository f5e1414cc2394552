# Sourced inside the kernel VM by ci/vm.sh, from the repository root. The host's root reaches the
# guest over a 9p share without a page cache: every exec of a debug build re-reads lblab and the
# Swift runtime's shared libraries through emulated virtio (seconds per command). Copy the built
# executables and every library they load into the guest's RAM once, and point the tests at them:
# LBLAB_BINARY (the integration tests' lblab; lblab finds lblab-agent next to itself) and
# LD_LIBRARY_PATH (searched before the binaries' RUNPATH).
lblab_ram=/run/lblab-ram
mkdir -p "$lblab_ram/bin" "$lblab_ram/lib"
lblab_build=${LBLAB_BUILD_DIR:-.build/debug}
for exe in lblab lblab-agent; do
  [ -x "$lblab_build/$exe" ] && cp "$lblab_build/$exe" "$lblab_ram/bin/"
done
for lib in $(ldd "$lblab_build/lblab" "$lblab_build"/*.xctest 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
  case "$lib" in */ld-linux*) ;; *) cp -n "$lib" "$lblab_ram/lib/" 2>/dev/null || true ;; esac
done
if [ -x "$lblab_ram/bin/lblab" ]; then
  export LBLAB_BINARY="$lblab_ram/bin/lblab" LBLAB_AGENT="$lblab_ram/bin/lblab-agent" LD_LIBRARY_PATH="$lblab_ram/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "ci/vm-ram.sh: $(ls "$lblab_ram/bin" | tr '\n' ' ')and $(ls "$lblab_ram/lib" | wc -l) libraries copied into the guest's RAM"
fi
