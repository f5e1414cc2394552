#!/usr/bin/env bash
# Builds, in a fresh network namespace, an IPVS table with every kind of entry `ipvsadm -Ln`
# prints differently, and prints what `ipvsadm -Ln` shows for it. IPVSListingTests compares
# lblab's renderer with this output (pasted there). Run it where the kernel has IPVS, as root:
#   bash ci/vm.sh 'bash Tests/LblabRuntimeTests/Fixtures/ipvsadm-table.sh > /some/rwdir/out'
# Each command that the kernel refuses is reported on stderr and left out of the table.
set -u
NS=ipvsfx
ip netns del "$NS" 2>/dev/null
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 192.0.2.1/24 dev lo          # a local address: the kernel makes its destination "Local"
modprobe ip_vs
x() { ip netns exec "$NS" ipvsadm "$@" || echo "ipvsadm-table: refused: ipvsadm $*" >&2; }

# The article's DR service, destinations added out of order.
x -A -t 198.51.100.100:80 -s rr
x -a -t 198.51.100.100:80 -r 198.51.100.22:80 -g -w 1
x -a -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 3
# NAT: other ports, weight 0 and 65535.
x -A -t 198.51.100.100:8080 -s wrr
x -a -t 198.51.100.100:8080 -r 10.0.0.2:80 -m -w 0
x -a -t 198.51.100.100:8080 -r 10.0.0.1:8081 -m -w 65535
x -a -t 198.51.100.100:8080 -r 10.0.0.1:80 -m -w 2
# Persistence with a mask; libipvs' wrapped comparison puts 10.0.0.9 after 200.0.0.1; a local destination.
x -A -t 198.51.100.100:443 -s wlc -p 600 -M 255.255.255.0
x -a -t 198.51.100.100:443 -r 200.0.0.1:443 -g
x -a -t 198.51.100.100:443 -r 10.0.0.9:443 -g
x -a -t 198.51.100.100:443 -r 192.0.2.1:443 -g
# Persistence without a mask (default timeout), a tunnel destination.
x -A -t 198.51.100.101:22 -s lc -p
x -a -t 198.51.100.101:22 -r 203.0.113.5:22 -i -w 4
# The kernel lists destinations newest first: 200.0.0.1, 10.0.0.9, 192.0.2.1, 127.0.0.1, an
# order libipvs' wrapping comparator and glibc's merge sort turn into 127, 192, 200, 10.
x -A -t 198.51.100.103:80 -s rr
for d in 127.0.0.1 192.0.2.1 10.0.0.9 200.0.0.1; do x -a -t 198.51.100.103:80 -r $d:80 -g; done
# Scheduler flags of rr (flag-N).
x -A -t 198.51.100.102:80 -s rr -b flag-1,flag-3
# UDP: sh with both flags and one-packet scheduling; mh with one flag.
x -A -u 198.51.100.100:53 -s sh -b sh-fallback,sh-port -o
x -a -u 198.51.100.100:53 -r 198.51.100.22:5353 -i -w 2
x -a -u 198.51.100.100:53 -r 198.51.100.21:53 -m
x -A -u 198.51.100.100:123 -s mh -b mh-port
# UDP persistence with a persistence engine and ops.
x -A -u 198.51.100.100:5060 -s rr -p 60 -M 255.255.0.0 --pe sip -o
# SCTP.
x -A --sctp-service 198.51.100.100:9 -s dh
# Firewall marks, IPv4 and IPv6.
x -A -f 7 -s rr
x -a -f 7 -r 198.51.100.21 -g
x -A -f 8 -6 -s wrr -p 30 -M 64
x -a -f 8 -6 -r [2001:db8::21] -g
# IPv6 services: persistence with a prefix, a long address, a mixed-family tunnel destination.
x -A -t [2001:db8::100]:80 -s rr -p 120 -M 64
x -a -t [2001:db8::100]:80 -r [2001:db8::22]:80 -g
x -a -t [2001:db8::100]:80 -r [2001:db8:1234:5678:9abc:def0:1234:5678]:8080 -m -w 7
x -a -t [2001:db8::100]:80 -r 192.0.2.7 -i
x -A -u [2001:db8::100]:53 -s sh -p
x -a -u [2001:db8::100]:53 -r [2001:db8::21]:53 -m

echo "== ipvsadm -Ln ($(ipvsadm -v 2>/dev/null | head -1); kernel $(uname -r))"
ip netns exec "$NS" ipvsadm -Ln
echo "== end"
ip netns del "$NS"
