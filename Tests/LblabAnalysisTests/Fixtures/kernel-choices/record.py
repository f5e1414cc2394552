#!/usr/bin/python3
"""Records which destination real kernel IPVS picks, per scheduler, for the scheduler oracle's
unit tests (SchedulerKernelTests). Run as root in a kernel with IPVS (the lab VM):
    bash ci/vm.sh '/usr/bin/python3 Tests/LblabAnalysisTests/Fixtures/kernel-choices/record.py OUT.json'
In a fresh network namespace: local clients (source addresses on a dummy interface) open TCP
connections to virtual services whose masq destinations never answer; IPVS schedules each SYN
and `ipvsadm -Lnc` shows the destination it chose. Only deterministic schedulers are recorded."""
import json, socket, subprocess, sys, time

NS = "lblab-kchoice"

def sh(*args, check=True):
    return subprocess.run(["ip", "netns", "exec", NS, *args], check=check, capture_output=True, text=True).stdout

def ipvsadm(*a):
    return sh("ipvsadm", *a)

def setns():
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{NS}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns")

def connect(src, vip, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.setblocking(False)
    s.connect_ex((vip, 80))
    time.sleep(0.005)
    return s

def choices():
    """(client, client port, vip) -> destination address, from ipvsadm -Lnc."""
    out = {}
    for line in ipvsadm("-Lnc").splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == "TCP":
            c, v, d = f[3], f[4], f[5]
            out[(c.rsplit(":", 1)[0], int(c.rsplit(":", 1)[1]), v.rsplit(":", 1)[0])] = d.rsplit(":", 1)[0]
    return out

def list_order(vip):
    """The destinations of service vip:80 in the order ipvsadm prints them (the kernel's list)."""
    order, inside = [], False
    for line in ipvsadm("-Ln", "-t", f"{vip}:80").splitlines():
        f = line.split()
        if f and f[0] == "TCP":
            inside = True
        elif inside and f and f[0] == "->" and f[1][0].isdigit():
            order.append({"address": f[1].rsplit(":", 1)[0], "weight": int(f[3])})
    return order

def main(path):
    subprocess.run(["modprobe", "-a", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "ip_vs_dh", "ip_vs_mh", "ip_vs_fo"], check=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "d0", "type", "dummy")
    sh("ip", "link", "set", "d0", "up")
    sh("ip", "addr", "add", "203.0.113.1/24", "dev", "d0")
    sh("ip", "route", "add", "198.51.100.0/24", "dev", "d0")
    clients = [f"192.0.2.{i}" for i in range(1, 65)]
    for c in clients:
        sh("ip", "addr", "add", f"{c}/32", "dev", "d0")
    setns()
    cases = []
    # name, scheduler, destination weights in the order added, clients, vips, sequential connections per client
    plan = [
        ("rr", "rr", [1, 1, 1], clients[:1], ["198.51.100.100"], 9),
        ("wrr-321", "wrr", [3, 2, 1], clients[:1], ["198.51.100.101"], 15),
        ("wrr-42", "wrr", [4, 2], clients[:1], ["198.51.100.102"], 9),
        ("rr-w0", "rr", [1, 0, 1], clients[:1], ["198.51.100.103"], 6),
        ("fo", "fo", [1, 3, 2], clients[:1], ["198.51.100.104"], 4),
        ("sh", "sh", [1, 1, 1], clients, ["198.51.100.105"], 1),
        ("sh-w", "sh", [3, 1, 2], clients, ["198.51.100.106"], 1),
        ("mh", "mh", [1, 1, 1], clients, ["198.51.100.107"], 1),
        ("mh-w", "mh", [3, 1, 2], clients, ["198.51.100.108"], 1),
    ]
    # dh: one service per VIP, the same destinations each time.
    dh_vips = [f"198.51.100.{i}" for i in range(120, 152)]
    socks = []
    port = 20000
    for name, sched, weights, cs, vips, per in plan + [("dh", "dh", [1, 1, 1], clients[:1], dh_vips, 1)]:
        dests = [f"203.0.113.{10 + i}" for i in range(len(weights))]
        for vip in vips:
            ipvsadm("-A", "-t", f"{vip}:80", "-s", sched)
            for d, w in zip(dests, weights):
                ipvsadm("-a", "-t", f"{vip}:80", "-r", f"{d}:80", "-m", "-w", str(w))
        conns = []
        for vip in vips:
            for c in cs:
                for k in range(per):
                    port += 1
                    socks.append(connect(c, vip, port))
                    conns.append((c, port, vip))
        time.sleep(0.2)
        got = choices()
        cases.append({
            "name": name, "scheduler": sched, "added": [{"address": d, "weight": w} for d, w in zip(dests, weights)],
            "list": list_order(vips[0]),
            "connections": [{"client": c, "port": p, "vip": v, "destination": got.get((c, p, v))} for c, p, v in conns],
        })
    for s in socks:
        s.close()
    with open(path, "w") as f:
        json.dump({"kernel": subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip(), "cases": cases}, f, indent=1)
    subprocess.run(["ip", "netns", "del", NS])
    print(f"recorded {sum(len(c['connections']) for c in cases)} choices in {len(cases)} cases to {path}")

main(sys.argv[1])
