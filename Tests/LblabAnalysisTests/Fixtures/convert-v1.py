#!/usr/bin/env python3
"""Converts a version 1 run.json (lblab before lab model v2) to version 2, in place.

Usage: convert-v1.py DIR SPEC.json
SPEC.json is the lab as it was run: `lblab show LAB --set ... --json`. The v1 facts knew one
interface per node (eth0: address and MAC): that is all the v2 facts get. The outcomes gain the
client node, its address, the service; their start offset was not recorded (null).
"""
import json, sys

d, spec_path = sys.argv[1], sys.argv[2]
old = json.load(open(f"{d}/run.json"))
assert "version" not in old, "already converted"
spec = json.load(open(spec_path))
f = old["facts"]
service = next(s for s in spec["services"] if s["name"] == spec["traffic"]["service"])

def node(host, role):
    return {"name": host["name"], "role": role, "interfaces": [{
        "name": "eth0", "kind": "veth", "up": True, "segment": "lan", "point": host["name"], "mac": host["mac"],
        "addresses": [next(a for n in spec["nodes"] if n["name"] == host["name"] for a in n["interfaces"][0]["addresses"])]}]}

facts = {"client": f["client"]["name"], "service": service["name"], "vip": f["vip"], "port": f["port"], "protocol": "tcp",
         "nodes": [node(f["client"], "client"), node(f["dispatcher"], "dispatcher")] + [node(h, "real") for h in f["realServers"]]}
outcomes = [dict({"client": f["client"]["name"], "localAddress": f["client"]["address"], "service": service["name"], "start": None},
                 **{k: v for k, v in o.items() if k in ("localPort", "server", "error", "latency")}) for o in old["outcomes"]]
json.dump({"version": 2, "spec": spec, "facts": facts, "outcomes": outcomes}, open(f"{d}/run.json", "w"), indent=2, sort_keys=True)
