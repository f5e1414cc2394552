#!/usr/bin/env python3
"""Sums `LBLAB_LOG=trace lblab up ...` step times by kind of step.

    LBLAB_LOG=trace lblab up LAB 2> trace.txt; python3 bench/profile.py trace.txt

Prints, per kind (namespace, veth, sysctl by key, ...), how many steps, their total and mean
time, and the phases `LBLAB_LOG=debug` logs (milliseconds since the process started). Steps
carried out ahead by the prefetch thread show the time their step waited, and the prefetch
thread's own totals are printed at the end. (Trace logging itself slows a run down: the step
times are what counts here, not the phases' wall time.)
"""
import collections
import re
import sys

STEP = re.compile(r"ms=([\d.]+) step=(.*?) \[\w+\] step done")
PHASE = re.compile(r"ms since process start=(\d+) \[\w+\] (.*)$")


def kind(cmd):
    w = cmd.split()
    if "sysctl" in w:
        key = w[-1].split("=")[0]
        return "sysctl " + re.sub(r"\.(eth\d+|lo|all|default)\.", ".*.", key) if ".conf." in key else "sysctl " + key
    if w[:3] == ["ip", "netns", "add"]:
        return "netns add"
    if w[:3] == ["ip", "netns", "del"]:
        return "netns del"
    if w[:3] == ["ip", "netns", "pids"]:
        return "stop agent"
    if "lblab-agent" in cmd:
        return "agent"
    if "ipvsadm" in w:
        return "ipvs " + w[w.index("ipvsadm") + 1]
    if "veth" in w:
        return "veth"
    if "bridge" in w:
        return "bridge"
    if "master" in w:
        return "set master"
    if w[-1] == "up":
        return "link up (" + ("lo" if w[-2] == "lo" else "other") + ")"
    if "addr" in w:
        return "addr add (" + ("lo" if w[-1] == "lo" else "other") + ")"
    if "route" in w:
        return "route add"
    return " ".join(w[:4])


def main():
    total = collections.defaultdict(float)
    count = collections.Counter()
    phases = []
    other = []
    for line in open(sys.argv[1], errors="replace"):
        if "prefetch: done" in line:
            other.append("  " + line.split(" lblab: ", 1)[-1].strip())
            continue
        m = STEP.search(line)
        if m:
            k = kind(m.group(2))
            total[k] += float(m.group(1))
            count[k] += 1
            continue
        m = PHASE.search(line)
        if m:
            phases.append((int(m.group(1)), m.group(2)))
    for k, v in sorted(total.items(), key=lambda x: -x[1]):
        print(f"  {k:36s} {count[k]:5d} steps {v:9.1f} ms  {v / count[k]:7.2f} ms each")
    print(f"  {'all steps':36s} {sum(count.values()):5d} steps {sum(total.values()):9.1f} ms")
    for ms, name in phases:
        print(f"  phase {name}: {ms} ms since start")
    for line in other:
        print(line)


if __name__ == "__main__":
    main()
