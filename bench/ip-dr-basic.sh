#!/usr/bin/env bash
# The dr-basic lab built by hand with `ip`, `ip netns exec ... sysctl` and `ipvsadm`: the
# baseline `bench/run.sh` times `lblab up dr-basic` / `lblab down dr-basic` against.
#
#   bench/ip-dr-basic.sh up     build the lab (returns once both HTTP servers accept)
#   bench/ip-dr-basic.sh down   stop the HTTP servers, delete the namespaces
#   bench/ip-dr-basic.sh plan   print the commands `up` runs, one a line, and change nothing
#
# `up` runs exactly the steps `lblab up dr-basic --dry-run` prints, in the same order, with
# the namespaces named shbench-<node> instead of lblab-dr-basic-<node> (so the two labs can
# coexist). `bench/run.sh` checks the two command lists against each other before timing.
#
# HTTP servers: lblab forks its built-in agent (`lblab-agent`) into each real server's
# namespace. The by-hand equivalent here is BusyBox httpd (`busybox httpd -f -p 80`), started
# in the namespace with `ip netns exec ... &`: it is the smallest ready-made HTTP server on
# this machine (Debian's busybox ships the httpd applet), starts in a few milliseconds, and
# like the agent listens on every address (the VIP included) and answers with the node's name
# (an index.html holding it). python3 -m http.server would also work but its interpreter
# start-up alone would dominate the baseline, which would flatter lblab.
# Readiness is real, as with lblab (whose `up` returns only when the agents listen): after
# starting a server the script polls, from inside the namespace, until a TCP connect to
# port 80 succeeds (bash /dev/tcp), giving up after 10 s.
#
# Needs root, iproute2, ipvsadm, busybox and a kernel with IPVS (bench/run.sh runs it in the
# kernel VM). Environment: SHBENCH_PREFIX (default shbench), SHBENCH_DIR (default /run/shbench:
# pid files and document roots; /run is writable in the VM).
set -euo pipefail

PREFIX=${SHBENCH_PREFIX:-shbench}
DIR=${SHBENCH_DIR:-/run/shbench}
VIP=198.51.100.100
PORT=80

SW=$PREFIX-switch
NODES=(client dispatcher rs1 rs2)
declare -A ADDR=([client]=198.51.100.10/24 [dispatcher]=198.51.100.2/24 [rs1]=198.51.100.21/24 [rs2]=198.51.100.22/24)
REALS=(rs1 rs2)

MODE=run
# Every lab step goes through `step`: run it (or print it in plan mode).
step() {
  if [ "$MODE" = plan ]; then echo "$*"; else "$@"; fi
}

ns() { echo "$PREFIX-$1"; }

# The real server's HTTP server, the equivalent of lblab's agent step
# (`ip netns exec NS lblab-agent --name NODE --port 80 &`), plus the readiness wait.
start_server() {
  local node=$1 n
  n=$(ns "$node")
  if [ "$MODE" = plan ]; then
    echo "ip netns exec $n busybox httpd -f -p $PORT -h $DIR/$node &"
    return
  fi
  mkdir -p "$DIR/$node"
  echo "$node" >"$DIR/$node/index.html"
  ip netns exec "$n" busybox httpd -f -p "$PORT" -h "$DIR/$node" </dev/null >/dev/null 2>&1 &
  echo $! >"$DIR/$node.pid"
  # Ready when a connect to port 80 inside the namespace succeeds (poll every 10 ms, 10 s at most).
  if ! ip netns exec "$n" bash -c '
      for _ in $(seq 1000); do
        (exec 3<>/dev/tcp/127.0.0.1/'"$PORT"') 2>/dev/null && exit 0
        sleep 0.01
      done
      exit 1'; then
    echo "ip-dr-basic: the HTTP server of $node does not accept on port $PORT after 10 s" >&2
    exit 1
  fi
}

up() {
  [ "$MODE" = plan ] || mkdir -p "$DIR"
  # the lab's switch: a namespace of its own
  step ip netns add "$SW"
  step ip netns exec "$SW" sysctl -w net.ipv6.conf.all.disable_ipv6=1
  step ip netns exec "$SW" sysctl -w net.ipv6.conf.default.disable_ipv6=1
  step ip -n "$SW" link add br0 type bridge
  step ip -n "$SW" link set br0 up
  # one namespace per node, a veth from the switch into it (switch side named after the node)
  local node n
  for node in "${NODES[@]}"; do
    n=$(ns "$node")
    step ip netns add "$n"
    step ip netns exec "$n" sysctl -w net.ipv6.conf.all.disable_ipv6=1
    step ip netns exec "$n" sysctl -w net.ipv6.conf.default.disable_ipv6=1
    step ip -n "$n" link set lo up
    step ip -n "$SW" link add "$node" type veth peer name eth0 netns "$n"
    step ip -n "$SW" link set "$node" master br0
    step ip -n "$SW" link set "$node" up
    step ip -n "$n" addr add "${ADDR[$node]}" dev eth0
    step ip -n "$n" link set eth0 up
  done
  # the dispatcher: VIP, forwarding, the IPVS service and its DR destinations
  local d
  d=$(ns dispatcher)
  step ip -n "$d" addr add "$VIP/32" dev eth0
  step ip netns exec "$d" sysctl -w net.ipv4.ip_forward=1
  step ip netns exec "$d" ipvsadm -A -t "$VIP:$PORT" -s rr
  for node in "${REALS[@]}"; do
    step ip netns exec "$d" ipvsadm -a -t "$VIP:$PORT" -r "${ADDR[$node]%/*}:$PORT" -g -w 1
  done
  # the real servers: VIP on lo, ARP fix, rp_filter off, the HTTP server
  for node in "${REALS[@]}"; do
    n=$(ns "$node")
    step ip -n "$n" addr add "$VIP/32" dev lo
    step ip netns exec "$n" sysctl -w net.ipv4.conf.all.arp_ignore=1
    step ip netns exec "$n" sysctl -w net.ipv4.conf.all.arp_announce=2
    step ip netns exec "$n" sysctl -w net.ipv4.conf.lo.arp_ignore=1
    step ip netns exec "$n" sysctl -w net.ipv4.conf.lo.arp_announce=2
    step ip netns exec "$n" sysctl -w net.ipv4.conf.all.rp_filter=0
    step ip netns exec "$n" sysctl -w net.ipv4.conf.eth0.rp_filter=0
    start_server "$node"
  done
}

down() {
  local node n pids
  # stop the HTTP servers: every process left in a real server's namespace
  for node in "${REALS[@]}"; do
    n=$(ns "$node")
    [ -e "/run/netns/$n" ] || continue
    pids=$(ip netns pids "$n")
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
  done
  # and wait until they are gone (as lblab's down does), 5 s at most
  for node in "${REALS[@]}"; do
    n=$(ns "$node")
    [ -e "/run/netns/$n" ] || continue
    for _ in $(seq 500); do
      [ -z "$(ip netns pids "$n")" ] && break
      sleep 0.01
    done
    pids=$(ip netns pids "$n")
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  done
  # delete the namespaces (the kernel removes every link, address and IPVS rule with them)
  for n in "$SW" $(for node in "${NODES[@]}"; do ns "$node"; done); do
    [ -e "/run/netns/$n" ] && ip netns del "$n"
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  plan) MODE=plan; up ;;
  *) echo "usage: $0 up|down|plan" >&2; exit 2 ;;
esac
