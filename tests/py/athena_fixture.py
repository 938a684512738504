#!/usr/bin/env python3
"""Test data and DuckDB runs for tests/athena_equivalence.rs.

    athena_fixture.py build OUT SHOP_FLOW_LOGS
        Reads the shop example's flow logs, adds synthetic records (a high-cardinality group,
        NAT'd packet addresses, IPv6, UDP/ICMP, millisecond timestamps, `-` actions, gaps) and
        writes, for each field set (v2, v5), the same records as
          OUT/{fs}/text/AWSLogs/…/vpcflowlogs/us-east-1/yyyy/mm/dd/*.log  (text, header line)
          OUT/{fs}/hive/year=…/month=…/day=…/*.log                       (text, Hive-style)
          OUT/{fs}/parquet/year=…/month=…/day=…/*.parquet               (Parquet, `-` as NULL)
        Prints {"records": N} (traffic and gap rows written per field set).

    athena_fixture.py query VIEW.sql QUERY.sql OUT.csv[.gz]
        Runs the view definition and the query in DuckDB and writes the result as Athena does:
        a header row, every non-NULL value quoted, NULL empty (gzip when OUT ends in .gz).
        DUCKDB_THREADS sets DuckDB's thread count.
        Prints {"rows": result rows, "seconds": query time}.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

V2 = [
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
]
V5 = V2 + [
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
    "region", "az-id", "sublocation-type", "sublocation-id", "pkt-src-aws-service",
    "pkt-dst-aws-service", "flow-direction", "traffic-path",
]
INTS = {"version", "srcport", "dstport", "tcp-flags", "traffic-path"}
BIGINTS = {"protocol", "packets", "bytes", "start", "end"}


def read_shop(root: Path) -> list[list[dict]]:
    """The shop's files, each a list of records (field name -> text)."""
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        lines = [l for l in text.splitlines() if l.strip()]
        if lines and lines[0].startswith("version"):
            names, lines = lines[0].split(), lines[1:]
        else:
            names = V2
        files.append([dict(zip(names, l.split())) for l in lines])
    return files


def synthetic() -> list[list[dict]]:
    rng = random.Random(7)
    day = 1_790_899_200  # 2026-10-02
    recs = []

    def rec(**kw):
        r = {"version": "5", "account-id": "123456789012", "log-status": "OK", "action": "ACCEPT"}
        r.update({k.replace("_", "-"): str(v) for k, v in kw.items()})
        recs.append(r)

    # 60 distinct clients of the web server's 443 on one day: past a cap of 40.
    for i in range(60):
        t = day + 600 + i * 7
        src = f"198.51.100.{i + 10}"
        rec(interface_id="eni-0web1", srcaddr=src, dstaddr="10.0.1.11", srcport=40000 + i,
            dstport=443, protocol=6, packets=3, bytes=180 + i, start=t, end=t + 60,
            tcp_flags=2, flow_direction="ingress")
        rec(interface_id="eni-0web1", srcaddr="10.0.1.11", dstaddr=src, srcport=443,
            dstport=40000 + i, protocol=6, packets=2, bytes=900, start=t, end=t + 60,
            tcp_flags=18, flow_direction="egress")
    # Later intervals of long connections (no SYN), NAT'd packet addresses, IPv6, UDP, ICMP.
    for i in range(25):
        t = day + 7200 + i * 60
        rec(interface_id="eni-0app1", srcaddr="10.0.2.21", dstaddr="10.0.1.11", srcport=8080,
            dstport=51000 + i % 3, protocol=6, packets=4, bytes=4000, start=t, end=t + 60,
            tcp_flags=0 if i % 2 else 1, flow_direction="egress")
        rec(interface_id="eni-0app1", srcaddr="10.0.1.11", dstaddr="10.0.2.21",
            pkt_srcaddr=f"203.0.113.{rng.randrange(1, 5)}", srcport=51000 + i % 3, dstport=8080,
            protocol=6, packets=5, bytes=300, start=t, end=t + 60, tcp_flags=0,
            flow_direction="ingress")
        rec(interface_id="eni-0app1", srcaddr="2001:db8:1::5", dstaddr="2001:db8:2::21",
            srcport=53000 + i, dstport=5432, protocol=6, packets=1, bytes=60, start=t,
            end=t + 60, tcp_flags=3, flow_direction="ingress")
        rec(interface_id="eni-0db1", srcaddr="10.0.3.5", dstaddr="10.0.0.2", srcport=33000 + i,
            dstport=53, protocol=17, packets=1, bytes=70, start=t * 1000, end=(t + 60) * 1000)
        rec(interface_id="eni-0db1", srcaddr="10.0.0.2", dstaddr="10.0.3.5", srcport=0,
            dstport=0, protocol=1, packets=1, bytes=84, start=t, end=t + 60, action="-")
        rec(interface_id="eni-0db1", srcaddr="192.0.2.77", dstaddr="10.0.3.5",
            srcport=rng.randrange(1024, 65535), dstport=rng.choice([22, 3389, 6379]),
            protocol=6, packets=1, bytes=40, start=t, end=t + 60, action="REJECT", tcp_flags=2,
            flow_direction="ingress")
    rec(interface_id="eni-0db1", start=day + 86000, end=day + 86399, log_status="SKIPDATA")
    rec(interface_id="eni-0new", start=day + 100, end=day + 700, log_status="NODATA")
    return [recs]


def day_of(r: dict) -> tuple[str, str, str]:
    t = int(r["start"])
    t = t // 1000 if t >= 100_000_000_000 else t
    return tuple(time.strftime("%Y %m %d", time.gmtime(t)).split())


def build(out: Path, shop: Path) -> None:
    files = read_shop(shop) + synthetic()
    count = 0
    for fs, names in (("v2", V2), ("v5", V5)):
        for n, recs in enumerate(files):
            if not recs:
                continue
            if fs == "v2":
                recs = [{**r, "version": "2"} for r in recs]
            y, m, d = day_of(recs[0])
            rows = [[r.get(f, "-") for f in names] for r in recs]
            text = " ".join(names) + "\n" + "".join(" ".join(row) + "\n" for row in rows)
            name = f"part-{n:04d}.log"
            aws = out / fs / "text/AWSLogs/123456789012/vpcflowlogs/us-east-1" / y / m / d
            hive = out / fs / "hive" / f"year={y}" / f"month={m}" / f"day={d}"
            for folder in (aws, hive):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
            write_parquet(
                out / fs / "parquet" / f"year={y}" / f"month={m}" / f"day={d}"
                / f"part-{n:04d}.parquet",
                names,
                rows,
            )
            if fs == "v5":
                count += len(rows)
    print(json.dumps({"records": count}))


def write_parquet(path: Path, names: list[str], rows: list[list[str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for i, name in enumerate(names):
        values = [None if row[i] == "-" else row[i] for row in rows]
        if name in INTS:
            columns[name.replace("-", "_")] = pa.array(
                [None if v is None else int(v) for v in values], pa.int32())
        elif name in BIGINTS:
            columns[name.replace("-", "_")] = pa.array(
                [None if v is None else int(v) for v in values], pa.int64())
        else:
            columns[name.replace("-", "_")] = pa.array(values, pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, compression="gzip")


def query(view: Path, sql: Path, out: Path) -> None:
    import duckdb

    con = duckdb.connect()
    if os.environ.get("DUCKDB_THREADS"):
        con.execute(f"SET threads = {int(os.environ['DUCKDB_THREADS'])}")
    con.execute(view.read_text())
    started = time.perf_counter()
    rel = con.execute(sql.read_text())
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    seconds = time.perf_counter() - started

    def cell(v):
        if v is None:
            return ""
        return '"' + str(v).replace('"', '""') + '"'

    text = ",".join(cell(n) for n in names) + "\n"
    text += "".join(",".join(cell(v) for v in row) + "\n" for row in rows)
    data = text.encode()
    out.write_bytes(gzip.compress(data) if out.name.endswith(".gz") else data)
    print(json.dumps({"rows": len(rows), "seconds": round(seconds, 3)}))


def main() -> None:
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "query":
        query(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
