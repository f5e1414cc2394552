#!/usr/bin/env bash
# Host-side test of the lab VM, as a learner meets it on a kernel without IPVS (run on the
# host, not in a VM). Usage: ci/labvm-host.sh LBLAB_BINARY
#
#   1. boot failures exit 2 with the cause and the fix, and leave nothing behind;
#   2. a lab VM left by a crash is detected by the next `up`, which says so and boots anew;
#   3. up -> status -> exec client -- curl VIP -> test -> down, with exec's status, stdin and
#      Ctrl-C passed through, a second lab in the same VM, the VM kept while a lab is up, and a
#      failing rule's status 1 passed through, commands served side by side, and no way out of
#      the VM to the host or the world;
#      after the last down no QEMU process is left and no VM state remains;
#   4. a VM whose QEMU is killed is found gone, and `lblab clean` removes what it left.
# Prints the times of `up` with the boot and with the VM up. Exits 1 on any failure, 2 when it
# cannot run here (a kernel with IPVS never uses the lab VM; curl missing).
set -uo pipefail
L=${1:?usage: ci/labvm-host.sh LBLAB_BINARY}
L=$(cd "$(dirname "$L")" && pwd)/$(basename "$L")
STATE=${LBLAB_STATE_DIR:-/run/lblab}
VMDIR=$STATE/.vm
out=$(mktemp -d /tmp/lblab-labvm-host.XXXXXX)
trap 'rm -rf "$out"' EXIT
failures=0
t_start=$(date +%s)

say() { echo "labvm-host: $*"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }
ok() { say "ok   $*"; }
# run NAME TIMEOUT CMD...: runs CMD with stdout/stderr in $out/NAME.{out,err}, status in $rc, seconds in $secs.
run() {
  local name=$1 limit=$2; shift 2
  local t0; t0=$(date +%s.%N)
  timeout "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err"; rc=$?
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
  return 0
}
show() { sed 's/^/     | /' "$out/$1.out" "$out/$1.err" | tail -${2:-12}; }
expect_rc() { # NAME WANT WHAT
  if [ "$rc" = "$2" ]; then ok "$3 (exit $rc, $(printf %.1f "$secs") s)"; else fail "$3: exit $rc, expected $2"; show "$1"; fi
}
expect_in() { # NAME FILE-SUFFIX TEXT WHAT
  if grep -qF -- "$3" "$out/$1.$2"; then ok "$4"; else fail "$4: '$3' not in $2 of $1"; show "$1"; fi
}
# QEMU of the lab VM, and every process of it (vng, virtme-run, QEMU: all carry its name).
qemu_pids() { pgrep -f -- 'qemu-system-x86_64 -name lblab-vm ' || true; }
vm_pids() { pgrep -f -- '-name lblab-vm ' || true; }
nothing_left() { # WHAT
  local left; left=$(vm_pids)
  if [ -z "$left" ]; then ok "$1: no QEMU process of the lab VM left"; else fail "$1: lab VM processes left: $left"; ps -o pid,args -p $left | cut -c1-160; fi
  if [ ! -e "$VMDIR" ]; then ok "$1: no VM state left ($VMDIR)"; else fail "$1: VM state left in $VMDIR: $(ls -A "$VMDIR")"; fi
}

if [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null; then
  say "this kernel has IPVS: lblab runs labs natively here and never uses the lab VM; nothing to test"; exit 2
fi
command -v curl >/dev/null || { say "curl is missing (the learner's first exec uses it): apt-get install -y curl"; exit 2; }
[ -z "$(vm_pids)" ] && [ ! -e "$VMDIR" ] || { say "a lab VM is running or left state already: \`$L vm stop\` first"; exit 2; }
say "host kernel $(uname -r) has no IPVS; lblab $L"

# 1. Boot failures: exit 2 with the cause and the fix, nothing left behind (no VM boots here).
run nokernel 60 env LBLAB_VM_KERNEL=/nonexistent/vmlinuz "$L" up dr-basic
expect_rc nokernel 2 "up with no usable VM kernel"
expect_in nokernel err "Fix:" "  ... and the message gives the fix"
expect_in nokernel err "LBLAB_VM_KERNEL=/nonexistent/vmlinuz" "  ... and names the cause"
run nokernel-test 60 env LBLAB_VM_KERNEL=/nonexistent/vmlinuz "$L" test dr-basic
expect_rc nokernel-test 2 "test with no usable VM kernel (2, not 1: no rule failed)"
run novng 120 env LBLAB_VNG=/bin/false "$L" up dr-basic
expect_rc novng 2 "up when the VM does not boot (vng fails at once)"
expect_in novng err "the lab VM did not boot" "  ... and says it did not boot"
expect_in novng err "Fix:" "  ... with the fix"
nothing_left "after the failed boots"

# 2. State left by a crashed VM (a record whose processes are gone) must not block `up`.
mkdir -p "$VMDIR"
sh -c 'exit 0' & dead=$!; wait $dead
cat > "$VMDIR/vm.json" <<EOF
{"binary":"$L","binaryStamp":"","bootSeconds":1,"bootedAt":0,"cpus":2,"kernel":"/boot/x","kvm":false,"labs":["dr-basic"],"memory":"2G","pid":$dead,"port":1,"ready":true,"vng":"/x"}
EOF

# 3. The learner's sequence.
run up 900 "$L" up dr-basic
expect_rc up 0 "up dr-basic, booting the lab VM"
up_boot=$secs
expect_in up err "is gone" "  ... after saying the crashed VM's state was found and removed"
expect_in up out "lab dr-basic is up" "  ... the lab is up"
expect_in up err "lab dr-basic lives in the lab VM" "  ... and it says where the lab lives"
expect_in up err "by hand:" "  ... and how to reach it by hand"
[ "$(grep -c 'lives in the lab VM' "$out/up.err")" = 1 ] && ok "  ... on one line" || fail "the lab VM line is not one line"

run status 120 "$L" status dr-basic
expect_rc status 0 "status dr-basic"
expect_in status out "IP Virtual Server version" "  ... shows the VM's IPVS table"
expect_in status out "198.51.100.100:80" "  ... with the service"
expect_in status err "lives in the lab VM" "  ... and says where the lab lives"

run curl 120 "$L" exec dr-basic client -- curl -s --max-time 20 http://198.51.100.100/
expect_rc curl 0 "exec dr-basic client -- curl -s http://198.51.100.100/"
grep -qxE 'rs[12]' "$out/curl.out" && ok "  ... answered by a real server ($(cat "$out/curl.out"))" || { fail "curl's answer is not rs1/rs2"; show curl; }

run exec7 120 "$L" exec dr-basic client -- sh -c 'echo out; echo err >&2; exit 7'
expect_rc exec7 7 "exec passes the command's exit status through"
[ "$(cat "$out/exec7.out")" = out ] && grep -qx err "$out/exec7.err" && ok "  ... and keeps stdout and stderr apart" || { fail "exec mixed its output"; show exec7; }

echo "hello from the host" | timeout 120 "$L" exec dr-basic client -- cat > "$out/stdin.out" 2>/dev/null
[ "$(cat "$out/stdin.out")" = "hello from the host" ] && ok "exec passes standard input on" || fail "exec lost stdin: '$(cat "$out/stdin.out")'"

timeout 120 "$L" exec dr-basic client -- sh -c 'trap "echo interrupted; exit 130" INT; echo ready; while :; do sleep 0.1; done' \
  > "$out/int.out" 2>/dev/null & pid=$!
for _ in $(seq 1 300); do grep -q ready "$out/int.out" 2>/dev/null && break; sleep 0.2; done
kill -INT $pid; wait $pid; rc=$?
[ "$rc" = 130 ] && grep -q interrupted "$out/int.out" && ok "Ctrl-C (SIGINT) reaches the command in the lab and its status comes back (130)" \
  || { fail "SIGINT: exit $rc, output '$(cat "$out/int.out")'"; }

run vmstatus 60 "$L" vm status
expect_rc vmstatus 0 "vm status"
expect_in vmstatus out "labs: dr-basic" "  ... lists the lab in the VM"

# One command at a time is not enough: status answers while an exec is still running.
timeout 120 "$L" exec dr-basic client -- sleep 8 > /dev/null 2>&1 & slow=$!
sleep 2
run concurrent 120 "$L" status dr-basic
if [ "$rc" = 0 ] && kill -0 $slow 2>/dev/null; then ok "status answers while another exec runs ($(printf %.1f "$secs") s)"; else fail "status while an exec runs: exit $rc"; show concurrent; fi
wait $slow

# Nothing in the VM reaches a network: not the host (a listener on its loopback), not the world.
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' > "$out/listener" & listener=$!
for _ in $(seq 1 50); do [ -s "$out/listener" ] && break; sleep 0.1; done
hostport=$(cat "$out/listener")
probe="import socket
for host, port in (('10.0.2.2', $hostport), ('1.1.1.1', 80), ('8.8.8.8', 53)):
    try:
        socket.create_connection((host, port), timeout=5); print('REACHED', host, port)
    except OSError as e:
        print('blocked', host, port, e)"
run isolated 120 "$L" vm exec -- python3 -c "$probe"
kill $listener 2>/dev/null; wait $listener 2>/dev/null
if [ "$rc" = 0 ] && ! grep -q REACHED "$out/isolated.out" && [ "$(grep -c blocked "$out/isolated.out")" = 3 ]; then
  ok "the VM reaches neither the host (127.0.0.1:$hostport via 10.0.2.2) nor the outside (restrict=on)"
else fail "the VM reached out, or the probe did not run"; show isolated; fi

run doctorvm 300 "$L" doctor --vm
expect_rc doctorvm 0 "doctor --vm with the lab VM running"
expect_in doctorvm out "ok   lab VM boot" "  ... checked the VM for real"
expect_in doctorvm out "ip_vs loaded: IP Virtual Server" "  ... loaded ip_vs in it"

rm -rf /tmp/lblab-captures/dr-basic
run test 900 "$L" test dr-basic --set connections=200
expect_rc test 0 "test dr-basic (on the lab that is up)"
expect_in test out "PASS: 5 rules hold" "  ... every rule holds"
[ -s /tmp/lblab-captures/dr-basic/run.json ] && [ -s /tmp/lblab-captures/dr-basic/dispatcher.pcap ] \
  && ok "  ... its captures are on the host in /tmp/lblab-captures/dr-basic" || fail "test left no captures on the host"
expect_in test out "lblab analyze /tmp/lblab-captures/dr-basic" "  ... at the path it prints"

run up2 300 "$L" up seed-dr
expect_rc up2 0 "up seed-dr, a second lab in the running VM"
up_second=$secs
run down1 300 "$L" down dr-basic
expect_rc down1 0 "down dr-basic"
if grep -q "stopped it" "$out/down1.err"; then fail "the VM stopped while seed-dr was still up"; else ok "  ... the VM stays while seed-dr is up"; fi
run arpflux 900 "$L" test dr-basic --set arp_fix=false --set connections=100
expect_rc arpflux 1 "test dr-basic --set arp_fix=false: a rule fails, and 1 comes back (not 0, not 2)"
expect_in arpflux out "FAIL arp" "  ... the ARP rule is the one that failed"
if grep -q "stopped it" "$out/arpflux.err"; then fail "the VM stopped while seed-dr was still up"; fi
run down2 300 "$L" down seed-dr
expect_rc down2 0 "down seed-dr, the last lab"
expect_in down2 err "no lab is left in the lab VM: stopped it" "  ... stops the VM"
nothing_left "after the last down"

# 4. A VM whose QEMU dies: found gone, and clean removes what it left.
run up3 900 "$L" up dr-basic
expect_rc up3 0 "up dr-basic again (a new boot)"
qemu=$(qemu_pids)
if [ -n "$qemu" ]; then
  kill -KILL $qemu
  for _ in $(seq 1 100); do [ -z "$(qemu_pids)" ] && break; sleep 0.1; done
  run gone 60 "$L" vm status
  expect_in gone out "is gone" "vm status after QEMU was killed says the VM is gone"
  run clean 120 "$L" clean
  expect_rc clean 0 "clean after the crash"
  expect_in clean err "gone" "  ... says it removed a gone VM's state"
  nothing_left "after clean"
else
  fail "no QEMU process after up"
fi

say "times: up dr-basic with the boot $(printf %.1f "$up_boot") s, up seed-dr with the VM up $(printf %.1f "$up_second") s; $(( $(date +%s) - t_start )) s in all"
if [ "$failures" != 0 ]; then say "$failures check(s) FAILED"; "$L" clean >/dev/null 2>&1; exit 1; fi
say "all checks passed"
