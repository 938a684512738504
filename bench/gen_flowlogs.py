#!/usr/bin/env python3
"""Generate synthetic VPC Flow Logs (version 5 custom format, gzip) for the ingest benchmark.

Deterministic: the same --seed, --records and --per-file give byte-identical files, whatever the
number of worker processes (every file has its own random stream derived from the seed and the
file's index; the shared pools of interfaces and addresses derive from the seed alone).

Standard library only. Files are named flows-0000.log.gz, flows-0001.log.gz, ... and a
manifest.json next to them records the parameters and the counts by kind (the benchmark checks
tighten's record count against `ok_records`).

The traffic (per record, approximately):
  * 42 % inbound connections to a service port of the interface (client half, flow-direction
    ingress; first interval SYN 2 / SYN+FIN 3, later intervals 0 or FIN 1);
  * 42 % the matching server half (the interface replying from its service port, egress,
    SYN-ACK 18 / 19 in the first interval);
  * 5.5 % outbound connections of the interface to remote 443 (TCP) or 53 (UDP) and their
    responses (both halves on the interface, so ~11 % of records);
  * 5 % REJECT scans from random sources to random ports;
  * 0.3 % NODATA and 0.03 % SKIPDATA rows.
About 200 interfaces with Zipf-like weights; the busiest few are public, load-balancer-like ENIs
whose clients come from a pool of 400,000 public addresses (Zipf skew); internal ENIs see a small
pool of 10.x addresses. Timestamps cover 3 days from 2026-10-01 00:00 UTC in 60-second intervals.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import sys
import time
from bisect import bisect
from itertools import accumulate
from multiprocessing import Pool
from pathlib import Path

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr "
    "pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service "
    "pkt-dst-aws-service flow-direction traffic-path"
)

T0 = 1790812800  # 2026-10-01 00:00:00 UTC
SPAN_DAYS = 3
INTERVAL = 60
N_INTERVALS = SPAN_DAYS * 86400 // INTERVAL

N_INTERFACES = 200
N_PUBLIC_BUSY = 6  # load-balancer-like ENIs (the busiest)
N_PUBLIC_OTHER = 4  # bastion / small public hosts
PUBLIC_POOL = 400_000
ACCOUNTS = ("123456789012", "210987654321")
REGION = "us-east-1"
AZS = ("use1-az1", "use1-az2", "use1-az4")

# Cumulative probabilities of the kind of an *event* (one random draw). Connection events emit
# two records (both halves), so the record shares are those in the module doc.
_REC_SHARES = {"in": 0.84, "out": 0.11, "scan": 0.05, "nodata": 0.003, "skip": 0.0003}
_EV_WEIGHTS = {
    "in": _REC_SHARES["in"] / 2,
    "out": _REC_SHARES["out"] / 2,
    "scan": _REC_SHARES["scan"],
    "nodata": _REC_SHARES["nodata"],
    "skip": _REC_SHARES["skip"],
}
_tot = sum(_EV_WEIGHTS.values())
EV_CUM = list(accumulate(w / _tot for w in _EV_WEIGHTS.values()))
EV_KINDS = list(_EV_WEIGHTS)

SCAN_PORTS = (22, 23, 80, 443, 445, 3389, 8080, 1433, 3306, 5900, 6379, 9200, 25, 21, 111, 135)
EPHEMERAL = [str(p) for p in range(32768, 61000)]


def zipf_cum(n: int, s: float) -> list[float]:
    return list(accumulate(1.0 / (k**s) for k in range(1, n + 1)))


def rand_hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def public_ip(rng: random.Random) -> str:
    while True:
        v = rng.getrandbits(32)
        a = v >> 24
        if a in (0, 10, 127, 100, 169, 172, 192) or a > 223 or (v & 255) in (0, 255):
            continue  # keep clear of private/special first octets and of .0/.255
        return f"{a}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


class World:
    """Interfaces, address pools and per-interface line fragments, derived from the seed alone."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"world-{seed}")
        self.public_pool = []
        seen = set()
        while len(self.public_pool) < PUBLIC_POOL:
            ip = public_ip(rng)
            if ip not in seen:
                seen.add(ip)
                self.public_pool.append(ip)
        self.public_cum = zipf_cum(PUBLIC_POOL, 0.85)
        # Remote services the interfaces call (443 APIs, 53 resolvers).
        self.remote_443 = [public_ip(rng) for _ in range(300)]
        self.remote_443_cum = zipf_cum(len(self.remote_443), 1.1)
        self.resolvers = ["10.0.0.2", "10.1.0.2", "10.2.0.2"]

        vpcs = [f"vpc-{rand_hex(rng, 17)}" for _ in range(3)]
        subnets = [(vpcs[i % 3], f"subnet-{rand_hex(rng, 17)}", AZS[i % 3], i % 3) for i in range(12)]
        self.ifaces = []
        used = set()
        for i in range(N_INTERFACES):
            vpc, subnet, az, vi = subnets[rng.randrange(len(subnets))]
            while True:
                ip = f"10.{vi}.{rng.randint(0, 255)}.{rng.randint(4, 254)}"
                if ip not in used:
                    used.add(ip)
                    break
            if i < N_PUBLIC_BUSY:
                kind = "lb"
                ports = [(443, 0.85), (80, 0.15)]
                instance = "-"
            elif i < N_PUBLIC_BUSY + N_PUBLIC_OTHER:
                kind = "public"
                ports = [(22, 0.7), (443, 0.3)]
                instance = f"i-{rand_hex(rng, 17)}"
            else:
                kind = "internal"
                template = rng.choices(
                    [[(8080, 0.9), (22, 0.1)], [(5432, 0.97), (22, 0.03)], [(6379, 1.0)],
                     [(443, 0.6), (8080, 0.35), (22, 0.05)], [(80, 0.8), (22, 0.2)], [(22, 1.0)]],
                    weights=[30, 15, 10, 25, 15, 5],
                )[0]
                ports = template
                instance = f"i-{rand_hex(rng, 17)}"
            self.ifaces.append({
                "eni": f"eni-{rand_hex(rng, 17)}", "ip": ip, "kind": kind, "vpc": vpc,
                "subnet": subnet, "az": az, "instance": instance, "account": ACCOUNTS[i % 7 == 6],
                "ports": [str(p) for p, _ in ports], "port_cum": list(accumulate(w for _, w in ports)),
                "offset": rng.randrange(INTERVAL),
            })
        # Internal clients: a small pool of 10.x addresses per internal interface, drawn from the
        # other interfaces' addresses plus a few others (Zipf-skewed within the interface).
        iface_ips = [f["ip"] for f in self.ifaces]
        for f in self.ifaces:
            if f["kind"] == "internal":
                n = rng.randint(3, 40)
                pool = rng.sample(iface_ips, min(n, len(iface_ips)))
                pool += [f"10.{rng.randint(0, 2)}.{rng.randint(0, 255)}.{rng.randint(4, 254)}" for _ in range(rng.randint(0, 10))]
                pool = [p for p in pool if p != f["ip"]]
                f["clients"] = pool
                f["clients_cum"] = zipf_cum(len(pool), 1.0)
            # Line fragments.
            f["head"] = f"5 {f['account']} {f['eni']} "
            f["mid"] = f" OK {f['vpc']} {f['subnet']} {f['instance']} "
            f["loc"] = f" {REGION} {f['az']} - - "
        self.iface_cum = zipf_cum(N_INTERFACES, 1.15)
        # Packets/bytes pools ("packets bytes" strings): small requests, larger responses.
        prng = random.Random(f"sizes-{seed}")
        self.req_sizes = []
        self.resp_sizes = []
        for _ in range(4096):
            pk = max(1, int(prng.paretovariate(1.3)) * prng.randint(1, 6))
            self.req_sizes.append(f"{pk} {pk * prng.randint(52, 400)}")
            pk2 = max(1, int(pk * prng.uniform(0.8, 3.0)))
            self.resp_sizes.append(f"{pk2} {pk2 * prng.randint(200, 1500)}")


WORLD: World | None = None


def world(seed: int) -> World:
    global WORLD
    if WORLD is None or WORLD.seed != seed:
        WORLD = World(seed)
        WORLD.seed = seed
    return WORLD


def gen_file(args: tuple[int, int, int, int, int, str]) -> dict:
    """Write one file; returns its counts."""
    seed, index, first, count, total, path = args
    w = world(seed)
    rng = random.Random(f"file-{seed}-{index}")
    rnd = rng.random
    ifaces = w.ifaces
    iface_cum, iface_tot = w.iface_cum, w.iface_cum[-1]
    pub_pool, pub_cum, pub_tot = w.public_pool, w.public_cum, w.public_cum[-1]
    r443, r443_cum, r443_tot = w.remote_443, w.remote_443_cum, w.remote_443_cum[-1]
    req_sizes, resp_sizes = w.req_sizes, w.resp_sizes
    eph, n_eph = EPHEMERAL, len(EPHEMERAL)
    ev_cum = EV_CUM
    counts = {"records": 0, "text_bytes": 0, "ok": 0, "accept": 0, "reject": 0, "nodata": 0, "skipdata": 0}

    out = []
    emitted = 0
    written_lines = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as fh:
        fh.write((HEADER + "\n").encode())
        text_bytes = len(HEADER) + 1
        while emitted < count:
            g = first + emitted
            k = g * N_INTERVALS // total  # time advances through the file set
            f = ifaces[bisect(iface_cum, rnd() * iface_tot)]
            start = T0 + k * INTERVAL + f["offset"]
            ts = f"{start} {start + INTERVAL}"
            head, mid, loc, ip = f["head"], f["mid"], f["loc"], f["ip"]
            u = rnd()
            kind = 0
            while u > ev_cum[kind]:
                kind += 1
            if kind == 0:  # inbound connection to a service port: both halves
                if f["kind"] == "internal":
                    cl = f["clients"][bisect(f["clients_cum"], rnd() * f["clients_cum"][-1])]
                    path_out = "1"
                elif f["kind"] == "lb":
                    cl = pub_pool[bisect(pub_cum, rnd() * pub_tot)]
                    path_out = "8"
                else:  # small public hosts: a slice of the public pool
                    cl = pub_pool[bisect(pub_cum, rnd() * pub_tot) % 2000]
                    path_out = "8"
                port = f["ports"][bisect(f["port_cum"], rnd() * f["port_cum"][-1])]
                ep = eph[int(rnd() * n_eph)]
                r = rnd()
                if r < 0.62:
                    fc, fs = "2", "18"
                elif r < 0.80:
                    fc, fs = "3", "19"
                elif r < 0.92:
                    fc, fs = "0", "0"
                else:
                    fc, fs = "1", "1"
                si = int(rnd() * 4096)
                out.append(f"{head}{cl} {ip} {ep} {port} 6 {req_sizes[si]} {ts} ACCEPT{mid}{fc} IPv4 {cl} {ip}{loc}- - ingress -\n")
                out.append(f"{head}{ip} {cl} {port} {ep} 6 {resp_sizes[si]} {ts} ACCEPT{mid}{fs} IPv4 {ip} {cl}{loc}- - egress {path_out}\n")
                n, acc, ok = 2, 2, 2
            elif kind == 1:  # outbound connection of the interface: both halves
                ep = eph[int(rnd() * n_eph)]
                si = int(rnd() * 4096)
                if rnd() < 0.7:
                    rem = r443[bisect(r443_cum, rnd() * r443_tot)]
                    r = rnd()
                    fc, fs = ("2", "18") if r < 0.6 else ("3", "19") if r < 0.8 else ("0", "0")
                    out.append(f"{head}{ip} {rem} {ep} 443 6 {req_sizes[si]} {ts} ACCEPT{mid}{fc} IPv4 {ip} {rem}{loc}- - egress 8\n")
                    out.append(f"{head}{rem} {ip} 443 {ep} 6 {resp_sizes[si]} {ts} ACCEPT{mid}{fs} IPv4 {rem} {ip}{loc}- - ingress -\n")
                else:
                    rem = w.resolvers[int(rnd() * 3)]
                    out.append(f"{head}{ip} {rem} {ep} 53 17 1 {60 + int(rnd() * 20)} {ts} ACCEPT{mid}0 IPv4 {ip} {rem}{loc}- - egress 1\n")
                    out.append(f"{head}{rem} {ip} 53 {ep} 17 1 {120 + int(rnd() * 300)} {ts} ACCEPT{mid}0 IPv4 {rem} {ip}{loc}- - ingress -\n")
                n, acc, ok = 2, 2, 2
            elif kind == 2:  # REJECT scan
                if f["kind"] == "internal" and rnd() < 0.8:
                    src = f"10.{int(rnd() * 3)}.{int(rnd() * 256)}.{4 + int(rnd() * 250)}"
                else:
                    src = f"{1 + int(rnd() * 222)}.{int(rnd() * 256)}.{int(rnd() * 256)}.{1 + int(rnd() * 254)}"
                dp = SCAN_PORTS[int(rnd() * len(SCAN_PORTS))] if rnd() < 0.6 else 1 + int(rnd() * 65535)
                sp = 1024 + int(rnd() * 64511)
                if rnd() < 0.9:
                    out.append(f"{head}{src} {ip} {sp} {dp} 6 1 {(40, 44, 60)[int(rnd() * 3)]} {ts} REJECT{mid}2 IPv4 {src} {ip}{loc}- - ingress -\n")
                else:
                    out.append(f"{head}{src} {ip} {sp} {dp} 17 1 {28 + int(rnd() * 100)} {ts} REJECT{mid}0 IPv4 {src} {ip}{loc}- - ingress -\n")
                n, acc, ok = 1, 0, 1
            else:  # NODATA / SKIPDATA
                status = "NODATA" if kind == 3 else "SKIPDATA"
                out.append(f"{head}- - - - - - - {ts} - {status}{mid[3:]}- - - -{loc}- - - -\n")
                n, acc, ok = 1, 0, 0
                counts["nodata" if kind == 3 else "skipdata"] += 1
            if emitted + n > count:  # a pair that does not fit: keep the file at its exact size
                out.pop()
                n, acc, ok = 1, 1, 1
            emitted += n
            counts["ok"] += ok
            counts["accept"] += acc
            counts["reject"] += ok - acc
            if len(out) >= 20000:
                chunk = "".join(out).encode()
                text_bytes += len(chunk)
                fh.write(chunk)
                written_lines += len(out)
                out.clear()
        chunk = "".join(out).encode()
        text_bytes += len(chunk)
        fh.write(chunk)
        written_lines += len(out)
    assert written_lines == count, (written_lines, count)
    os.replace(tmp, path)
    counts["records"] = count
    counts["text_bytes"] = text_bytes
    return counts


def generator_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=int(os.environ.get("RECORDS", 5_000_000)))
    ap.add_argument("--per-file", type=int, default=int(os.environ.get("PER_FILE", 500_000)))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 1)))
    ap.add_argument("--out", required=True, help="directory for the files and manifest.json")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--force", action="store_true", help="regenerate even when the cache matches")
    a = ap.parse_args()
    if a.records <= 0 or a.per_file <= 0:
        ap.error("--records and --per-file must be positive")

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    params = {"records": a.records, "per_file": a.per_file, "seed": a.seed, "generator": generator_digest()}
    manifest_path = out / "manifest.json"
    if not a.force and manifest_path.exists():
        try:
            m = json.loads(manifest_path.read_text())
            if m.get("params") == params and all((out / n).exists() for n in m["files"]):
                print(f"gen_flowlogs: reusing {len(m['files'])} files in {out}", file=sys.stderr)
                return 0
        except (ValueError, KeyError):
            pass
    manifest_path.unlink(missing_ok=True)
    for old in out.glob("flows-*.log.gz*"):
        old.unlink()

    n_files = (a.records + a.per_file - 1) // a.per_file
    tasks = []
    for i in range(n_files):
        first = i * a.per_file
        tasks.append((a.seed, i, first, min(a.per_file, a.records - first), a.records, str(out / f"flows-{i:04d}.log.gz")))
    t = time.monotonic()
    world(a.seed)  # built once here; forked workers inherit it
    if a.jobs > 1 and n_files > 1:
        with Pool(min(a.jobs, n_files)) as pool:
            results = pool.map(gen_file, tasks, chunksize=1)
    else:
        results = [gen_file(task) for task in tasks]
    totals = {k: sum(r[k] for r in results) for k in results[0]}
    manifest = {"params": params, "files": [Path(task[5]).name for task in tasks], "counts": totals,
                "per_file_counts": results}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"gen_flowlogs: wrote {n_files} files, {totals['records']} records "
          f"({totals['ok']} OK) in {time.monotonic() - t:.1f}s to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
