#!/usr/bin/env python3
"""Prints the kernel state of a running lab in a form two builds of it can be diffed by.

    python3 bench/snapshot.py PREFIX NODE...      (as root, e.g. lblab-dr-scale- switch client ...)

For each namespace PREFIX+NODE, in the order given: its links (name, kind, flags, MTU, master,
bridge port state, tunnel ends), addresses, routes of every table, every value under
/proc/sys/net (a few that differ between any two namespaces excluded), its IPVS table
(/proc/net/ip_vs), the TCP ports that listen, and the processes inside it (command name and
`--name` argument). Names that differ between the builds (ifindexes, MACs, netns ids, pids,
the namespace prefix) are left out. Entering each namespace takes one setns() of this process
(ctypes) and one `ip -batch` for links, addresses and routes: cheap enough for 258 namespaces.
"""
import ctypes
import json
import os
import subprocess
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

# Values that differ between two namespaces built the same way.
VOLATILE = {
    "ipv4/tcp_fastopen_key",          # random per namespace
    "netfilter/nf_conntrack_count",
    "ipv6/conf/all/stable_secret", "ipv6/conf/default/stable_secret",
}


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {path}: {os.strerror(e)}")
    finally:
        os.close(fd)


def json_docs(text):
    dec = json.JSONDecoder()
    i, out = 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        doc, i = dec.raw_decode(text, i)
        out.append(doc)
    return out


def links(raw):
    out = []
    for l in raw:
        info = l.get("linkinfo", {})
        item = {k: l.get(k) for k in ("ifname", "flags", "mtu", "master", "txqlen", "link_type", "promiscuity")}
        item["flags"] = sorted(item["flags"] or [])
        item["kind"] = info.get("info_kind")
        item["slave_kind"] = info.get("info_slave_kind")
        if info.get("info_kind") in ("ipip", "gre", "sit"):
            d = info.get("info_data", {})
            item["tunnel"] = {k: d.get(k) for k in ("local", "remote", "ttl", "pmtudisc")}
        if info.get("info_slave_kind") == "bridge":
            item["port_state"] = info.get("info_slave_data", {}).get("state")
        out.append(item)
    return sorted(out, key=lambda x: x["ifname"])


def addresses(raw):
    out = []
    for l in raw:
        for a in l.get("addr_info", []):
            a = {k: v for k, v in a.items() if k not in ("valid_life_time", "preferred_life_time")}
            out.append([l["ifname"], a])
    return sorted(out, key=json.dumps)


def sysctls():
    out = []
    root = "/proc/sys/net"
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            rel = p[len(root) + 1:]
            if rel in VOLATILE or rel.endswith("/stable_secret"):
                continue
            try:
                with open(p) as fh:
                    v = fh.read().strip()
            except OSError:
                continue   # write-only or unreadable here
            out.append(f"{rel}={v}")
    return out


def listening():
    ports = set()
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/thread-self/net/{name}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":   # TCP_LISTEN
                        addr, port = fields[1].split(":")
                        ports.add(f"{name} {addr}:{int(port, 16)}")
        except FileNotFoundError:
            pass
    return sorted(ports)


def ipvs():
    try:
        with open("/proc/thread-self/net/ip_vs") as f:
            return [l.rstrip() for l in f]
    except FileNotFoundError:
        return []


def processes_by_inode():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            ino = os.stat(f"/proc/{pid}/ns/net").st_ino
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                continue
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        name = None
        for i, a in enumerate(argv[:-1]):
            if a == b"--name":
                name = argv[i + 1].decode()
        out.setdefault(ino, []).append(f"{comm} --name {name}" if name else comm)
    return out


def main():
    prefix, nodes = sys.argv[1], sys.argv[2:]
    procs = processes_by_inode()
    root = os.open("/proc/self/ns/net", os.O_RDONLY)
    for node in nodes:
        path = f"/run/netns/{prefix}{node}"
        print(f"== {node}")
        setns(path)
        try:
            text = subprocess.run(["ip", "-j", "-d", "-batch", "-"], input="link show\naddr show\nroute show table all\n",
                                  capture_output=True, text=True, check=True).stdout
            raw_links, raw_addrs, raw_routes = json_docs(text)
            for l in links(raw_links):
                print("link", json.dumps(l, sort_keys=True))
            for a in addresses(raw_addrs):
                print("addr", json.dumps(a, sort_keys=True))
            for r in sorted(json.dumps(r, sort_keys=True) for r in raw_routes):
                print("route", r)
            for s in sysctls():
                print("sysctl", s)
            for l in ipvs():
                print("ipvs", l)
            for p in listening():
                print("listen", p)
            for p in sorted(procs.get(os.stat(path).st_ino, [])):
                print("process", p)
        finally:
            if libc.setns(root, CLONE_NEWNET) != 0:
                sys.exit("snapshot: could not return to the root namespace")


if __name__ == "__main__":
    main()
