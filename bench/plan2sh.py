#!/usr/bin/env python3
"""Turns lblab's plan of a lab into the fastest shell script that builds the same lab.

    lblab up LAB [--set ...] --dry-run --json > plan.json
    python3 bench/plan2sh.py plan.json OUTDIR [--prefix shbench-] [--agent PATH] [--sysctl nsenter|ipnetns]

writes into OUTDIR:
    up.sh      builds the lab: one `ip -batch` for every namespace, then per namespace one
               `sysctl -w k=v k=v ...` (entered with nsenter) and one `ip -n NS -batch`, one
               `ipvsadm -R` per dispatcher, and the agents as lblab starts them: one
               `lblab-agent --launch` forks one per real server into its namespace and returns
               once every agent listens
    down.sh    SIGTERMs the agents, waits until they are gone, and deletes the namespaces with
               one `ip -batch` (the kernel removes links, addresses and IPVS rules with them)
    *.batch, *.ipvs, sysctl lists: the data the scripts read
    steps.txt  every plan step as the shell builds it, one a line, namespaces renamed: the
               benchmark compares it with the plan (`lblab up --dry-run`) before timing

Namespaces `lblab-<lab>-X` become `<prefix>X`, so the two labs never collide. Each plan step
becomes exactly one command line (or one sysctl pair, or one ipvsadm rule, or one agent); a step
kind this script does not know is an error, so a new step kind cannot be skipped silently.

Ordering: the plan interleaves namespaces; the script groups by namespace, which needs
(1) every namespace before the switch's batch (veth peers are created straight into them),
(2) the switch's batch (bridges, veths) before a node's batch and sysctls (its eth0 comes from
there). A node's sysctls run before its batch, so the interface-specific keys (eth0.rp_filter)
find their interface, and `all.disable_ipv6=1` reaches the existing eth0 as the plan's order
would have (the kernel applies `all` to every device and to `default`): the benchmark checks the
resulting kernel state of both labs for equality, so an ordering that changed it would show.
"""
import argparse
import json
import os
import shlex
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("outdir")
    ap.add_argument("--prefix", default="shbench-")
    ap.add_argument("--agent", default="lblab-agent", help="the lblab-agent executable")
    ap.add_argument("--sysctl", choices=["nsenter", "ipnetns"], default="nsenter",
                    help="how sysctl enters a namespace: nsenter --net=PATH (setns only) or ip netns exec (also remounts /sys)")
    a = ap.parse_args()

    with open(a.plan) as f:
        plan = json.load(f)
    lab = plan["lab"]
    old = f"lblab-{lab}-"

    def ns(name):
        if not name.startswith(old):
            sys.exit(f"plan2sh: namespace {name} does not start with {old}")
        return a.prefix + name[len(old):]

    order = []            # namespaces in the order the plan creates them
    batches = {}          # ns -> ip batch lines
    sysctls = {}          # ns -> [k=v]
    ipvs = {}             # ns -> ipvsadm -R lines
    agents = []           # (ns, node, port)
    steps = []            # one line per plan step, in plan order: what the shell does for it
    netns_lines = []

    def batch(n, line):
        batches.setdefault(n, []).append(line)
        steps.append(f"ip -n {n} {line}")

    for entry in plan["entries"]:
        (kind, s), = entry["step"].items()
        if kind == "createNamespace":
            n = ns(s["name"])
            order.append(n)
            netns_lines.append(f"netns add {n}")
            steps.append(f"ip netns add {n}")
        elif kind == "setSysctl":
            n = ns(s["namespace"])
            sysctls.setdefault(n, []).append(f"{s['key']}={s['value']}")
            steps.append(f"sysctl {n} {s['key']}={s['value']}")
        elif kind == "createBridge":
            batch(ns(s["namespace"]), f"link add {s['name']} type bridge")
        elif kind == "createVeth":
            batch(ns(s["namespace"]), f"link add {s['name']} type veth peer name {s['peerName']} netns {ns(s['peerNamespace'])}")
        elif kind == "setMaster":
            batch(ns(s["namespace"]), f"link set {s['link']} master {s['master']}")
        elif kind == "setUp":
            batch(ns(s["namespace"]), f"link set {s['link']} up")
        elif kind == "addAddress":
            addr = s["address"]
            v4 = ":" not in addr
            plen = int(addr.split("/")[1])
            # lblab sets IFA_BROADCAST for IPv4 below /31 (as `brd +` does); plain `ip addr add` does not.
            brd = " brd +" if v4 and plen < 31 else ""
            batch(ns(s["namespace"]), f"addr add {addr}{brd} dev {s['link']}")
        elif kind == "addRoute":
            r = s["route"]
            dest = r["destination"]
            line = "route add " + ("default" if dest.endswith("/0") else dest)
            if r.get("gateway"):
                line += f" via {r['gateway']}"
            if r.get("link"):
                line += f" dev {r['link']}"
            batch(ns(s["namespace"]), line)
        elif kind == "createTunnel":
            batch(ns(s["namespace"]), f"link add {s['name']} type ipip local {s['local']}")
        elif kind == "addService":
            sv = s["service"]
            line = f"-A {svc(sv)} -s {sv['scheduler']}"
            ipvs.setdefault(ns(s["namespace"]), []).append(line)
            steps.append(f"ipvsadm {ns(s['namespace'])} {line}")
        elif kind == "addDestination":
            d = s["destination"]
            flag = {"route": "-g", "masq": "-m", "tunnel": "-i"}[d["forward"]]
            line = f"-a {svc(s['service'])} -r {hostport(d['address'], d['port'])} {flag} -w {d['weight']}"
            ipvs.setdefault(ns(s["namespace"]), []).append(line)
            steps.append(f"ipvsadm {ns(s['namespace'])} {line}")
        elif kind == "startAgent":
            if s["proto"] != "tcp":
                sys.exit(f"plan2sh: agents for {s['proto']} are not supported")
            n = ns(s["namespace"])
            agents.append((n, s["node"], s["port"]))
            steps.append(f"agent {n} {s['node']} {s['port']}")
        else:
            sys.exit(f"plan2sh: step kind {kind} is not known here: teach bench/plan2sh.py to build it")

    out = os.path.abspath(a.outdir)
    os.makedirs(out, exist_ok=True)

    def write(name, lines):
        with open(os.path.join(out, name), "w") as f:
            f.write("".join(l + "\n" for l in lines))

    write("netns.batch", netns_lines)
    write("netns-del.batch", [f"netns del {n}" for n in reversed(order)])
    for n, lines in batches.items():
        write(f"{n}.batch", lines)
    for n, lines in ipvs.items():
        write(f"{n}.ipvs", lines)
    write("steps.txt", steps)

    q = shlex.quote
    enter = (lambda n: f"nsenter --net=/run/netns/{n}") if a.sysctl == "nsenter" else (lambda n: f"ip netns exec {n}")
    up = [
        "#!/bin/bash",
        f"# Generated by bench/plan2sh.py from lblab's plan of {lab}: the same lab, built by the shell.",
        "set -e",
        f"D={q(out)}",
        "ip -batch $D/netns.batch",
    ]
    # Switch-like namespaces (no agent, no node of their own) first: their batches create the
    # veths whose peers the other namespaces' sysctls and batches need.
    creators = [n for n in order if any(" type veth " in l for l in batches.get(n, []))]
    for n in creators + [n for n in order if n not in creators]:
        if n in sysctls:
            up.append(f"{enter(n)} sysctl -q -w " + " ".join(q(kv) for kv in sysctls[n]))
        if n in batches:
            up.append(f"ip -n {n} -batch $D/{n}.batch")
    for n in ipvs:
        up.append(f"{enter(n)} ipvsadm -R < $D/{n}.ipvs")
    if agents:
        # The agents as lblab starts them: one `lblab-agent --launch` forks them all, prints their
        # pids, and exits 0 once every one listens (with room in its arguments for each agent to
        # write its own command line, `lblab-agent --name NODE --tcp PORT`, as lblab's launcher has).
        write("agents.txt", [f"{node} {port} /run/netns/{n}" for n, node, port in agents])
        room = " " * 96
        up += [
            f"{q(a.agent)} --launch '{room}' < $D/agents.txt > $D/pids || {{ echo \"up.sh: an agent did not listen: $(grep fail $D/pids)\" >&2; exit 1; }}",
        ]
    write("up.sh", up)

    down = [
        "#!/bin/bash",
        f"# Generated by bench/plan2sh.py: takes the shell-built {lab} down.",
        f"D={q(out)}",
    ]
    if agents:
        down += [
            "mapfile -t pids < $D/pids 2>/dev/null || pids=()",
            '[ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null || true',
            "# wait until every agent is gone (a zombie counts as gone), 5 s at most",
            "for p in \"${pids[@]}\"; do",
            "  for ((i = 0; i < 5000; i++)); do",
            "    { read -r st < /proc/$p/stat; } 2>/dev/null || break",
            "    st=${st##*) }; [ \"${st%% *}\" = Z ] && break",
            "    read -rt 0.001 <> $D/tick || :   # a 1 ms pause without a process",
            "  done",
            "done",
        ]
    down.append("ip -batch $D/netns-del.batch")
    write("down.sh", down)
    # down.sh's 1 ms pauses read from this FIFO (made here, so no timed run starts mkfifo).
    tick = os.path.join(out, "tick")
    if not os.path.exists(tick):
        os.mkfifo(tick)


def svc(sv):
    flag = {"tcp": "-t", "udp": "-u"}[sv["proto"]]
    return f"{flag} {hostport(sv['address'], sv['port'])}"


def hostport(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


if __name__ == "__main__":
    main()
