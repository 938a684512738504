#!/usr/bin/env python3
"""The DuckDB reference for the ingest benchmark: read gzip'd v5 flow logs with read_csv and store
a GROUP BY aggregate comparable to tighten's evidence in a database file.

    duckdb_aggregate.py --db OUT.duckdb --threads 2 FILE...

Prints one JSON line: {"rows": stored aggregate rows, "ok_records": OK records read, "seconds": ...}.
It is the reference cost of "read + aggregate + store", not a replica of tighten's role logic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import duckdb

# Column types of the v5 custom format the generator writes (all 29 fields, header order).
COLUMNS = {
    "version": "TINYINT",
    "account-id": "VARCHAR",
    "interface-id": "VARCHAR",
    "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR",
    "srcport": "INTEGER",
    "dstport": "INTEGER",
    "protocol": "SMALLINT",
    "packets": "BIGINT",
    "bytes": "BIGINT",
    "start": "BIGINT",
    "end": "BIGINT",
    "action": "VARCHAR",
    "log-status": "VARCHAR",
    "vpc-id": "VARCHAR",
    "subnet-id": "VARCHAR",
    "instance-id": "VARCHAR",
    "tcp-flags": "INTEGER",
    "type": "VARCHAR",
    "pkt-srcaddr": "VARCHAR",
    "pkt-dstaddr": "VARCHAR",
    "region": "VARCHAR",
    "az-id": "VARCHAR",
    "sublocation-type": "VARCHAR",
    "sublocation-id": "VARCHAR",
    "pkt-src-aws-service": "VARCHAR",
    "pkt-dst-aws-service": "VARCHAR",
    "flow-direction": "VARCHAR",
    "traffic-path": "VARCHAR",
}

QUERY = """
CREATE TABLE agg AS
SELECT
    "interface-id" AS interface,
    "start" // 86400 AS day,
    protocol,
    action,
    srcaddr,
    dstaddr,
    dstport,
    "flow-direction" AS direction,
    CASE WHEN protocol = 6 AND ("tcp-flags" & 18) = 2 THEN 'syn'
         WHEN protocol = 6 AND ("tcp-flags" & 18) = 18 THEN 'synack'
         ELSE 'other' END AS flags_class,
    count(*) AS records,
    sum(packets) AS packets,
    sum(bytes) AS bytes,
    min("start") AS first_start,
    max("end") AS last_end,
    bit_or("tcp-flags") AS tcp_flags
FROM read_csv(
    $files,
    delim = ' ',
    header = true,
    compression = 'gzip',
    nullstr = '-',
    auto_detect = false,
    columns = $columns
)
WHERE "log-status" = 'OK'
GROUP BY ALL
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database file to create (replaced if present)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    for suffix in ("", ".wal"):
        try:
            os.unlink(a.db + suffix)
        except FileNotFoundError:
            pass
    t = time.monotonic()
    con = duckdb.connect(a.db)
    con.execute(f"SET threads = {int(a.threads)}")
    # DuckDB's own advice for large loads: without it, it keeps rows in insertion order.
    con.execute("SET preserve_insertion_order = false")
    con.execute(QUERY, {"files": a.files, "columns": COLUMNS})
    con.execute("CHECKPOINT")
    rows, ok = con.execute("SELECT count(*), sum(records) FROM agg").fetchone()
    con.close()
    print(json.dumps({"rows": rows, "ok_records": int(ok or 0), "seconds": round(time.monotonic() - t, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
