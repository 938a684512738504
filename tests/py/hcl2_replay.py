"""Independent reading of the shop's Terraform with python-hcl2 (called by tests/fix_readback.rs).

Reads the ingress rules of a Terraform directory the way the shop example writes them (inline
`ingress` blocks, `aws_security_group_rule`, `aws_vpc_security_group_ingress_rule` with a
literal, a variable or a `for_each` over a variable map), links groups to ids through the state,
and prints as JSON the rule entries and which of the given flows they allow.

usage: python hcl2_replay.py DIR STATE FLOWS.json MEMBERS.json
"""
import ipaddress
import json
import sys
from pathlib import Path

import hcl2

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "-1": -1, "all": -1}


def unquote(v):
    if isinstance(v, str) and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1]
    return v


def ref(v):
    """`${var.x}` or `var.x` -> `var.x`."""
    v = unquote(v) if isinstance(v, str) else v
    if isinstance(v, str) and v.startswith("${") and v.endswith("}"):
        return v[2:-1]
    return v


def load(directory):
    doc = {"resource": [], "variable": []}
    for p in sorted(Path(directory).glob("*.tf")):
        with open(p) as f:
            d = hcl2.load(f)
        for k in doc:
            doc[k].extend(d.get(k, []))
    variables = {}
    for v in doc["variable"]:
        for name, body in v.items():
            variables[unquote(name)] = body.get("default")
    return doc, variables


def value(v, variables, each=None):
    r = ref(v)
    if isinstance(r, str) and r.startswith("var."):
        return value(variables[r[4:]], variables, each)
    if r == "each.value":
        return value(each, variables)
    if isinstance(v, list):
        return [value(x, variables, each) for x in v]
    if isinstance(v, dict):
        return {k: value(x, variables, each) for k, x in v.items() if not k.startswith("__")}
    return unquote(v) if isinstance(v, str) else v


def group_id(expr, state):
    r = ref(expr)
    name = r[: -len(".id")] if r.endswith(".id") else r
    return state.get(name, name)


def rules(directory, state):
    doc, variables = load(directory)
    out = []

    def add(group, body, sources, each=None):
        proto = PROTOCOLS[str(value(body.get("protocol", body.get("ip_protocol")), variables, each))]
        lo = int(value(body.get("from_port", -1), variables, each))
        hi = int(value(body.get("to_port", -1), variables, each))
        for s in sources:
            out.append({"group": group, "protocol": proto, "from": lo, "to": hi, "source": s})

    for r in doc["resource"]:
        for kind, named in r.items():
            kind = unquote(kind)
            for name, body in named.items():
                name = unquote(name)
                if kind == "aws_security_group":
                    gid = state[f"aws_security_group.{name}"] if f"aws_security_group.{name}" in state else "name:" + value(body["name"], variables)
                    for b in body.get("ingress", []):
                        add(gid, b, value(b.get("cidr_blocks", []), variables))
                elif kind == "aws_security_group_rule" and value(body["type"], variables) == "ingress":
                    gid = group_id(body["security_group_id"], state)
                    if "source_security_group_id" in body:
                        sources = ["sg:" + group_id(body["source_security_group_id"], state)]
                    else:
                        sources = value(body.get("cidr_blocks", []), variables)
                    add(gid, body, sources)
                elif kind == "aws_vpc_security_group_ingress_rule":
                    gid = group_id(body["security_group_id"], state)
                    items = [None]
                    if "for_each" in body:
                        items = list(value(body["for_each"], variables).values())
                    for each in items:
                        add(gid, body, [value(body["cidr_ipv4"], variables, each)], each)
    return out


def allows(rule, flow, members):
    if rule["group"] != flow["group"]:
        return False
    if rule["protocol"] != -1:
        if rule["protocol"] != flow["protocol"]:
            return False
        if flow["protocol"] in (6, 17) and not (rule["from"] <= flow["port"] <= rule["to"]):
            return False
    s = rule["source"]
    if s.startswith("sg:"):
        return flow["src"] in members.get(s[3:], [])
    return ipaddress.ip_address(flow["src"]) in ipaddress.ip_network(s, strict=False)


def main():
    directory, state_path, flows_path, members_path = sys.argv[1:5]
    with open(state_path) as f:
        st = json.load(f)
    state = {}
    for res in st["resources"]:
        for inst in res["instances"]:
            if "index_key" not in inst:
                state[f"{res['type']}.{res['name']}"] = inst["attributes"]["id"]
    # The cache group is linked by name (no state entry): map its name as tighten does.
    state_names = {"name:shop-cache": "sg-0cache"}
    with open(flows_path) as f:
        flows = json.load(f)
    with open(members_path) as f:
        members = json.load(f)
    found = rules(directory, state)
    for r in found:
        r["group"] = state_names.get(r["group"], r["group"])
    allowed = [i for i, fl in enumerate(flows) if any(allows(r, fl, members) for r in found)]
    print(json.dumps({"rules": found, "allowed": allowed}))


main()
