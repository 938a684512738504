"""Writes a text VPC flow log (plain or gzip, with or without a header) as Parquet, the way AWS
delivers `FileFormat=parquet`: one column per field, named with `_` for `-`, null for `-`.

Two independent writers, so that tighten's reader is held to both:

  pyarrow: AWS's documented types (INT32 version, ports, protocol, tcp_flags, traffic_path; INT64
           packets, bytes, start, end; strings otherwise), or INT64 for every number (--int64).
  duckdb:  DuckDB parses the text itself (read_csv, `-` as null) and writes its own types
           (BIGINT numbers, VARCHAR strings).

usage: flowlog_parquet.py pyarrow|duckdb IN OUT [--compression C] [--row-group-size N]
       [--page-size BYTES] [--int64] [--drop COLUMN]
"""

import argparse
import gzip

DEFAULT_V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
).split()
INT32 = {"version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path"}
INT64 = {"packets", "bytes", "start", "end"}


def read_text(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rt") as f:
        lines = [line.split() for line in f if line.strip()]
    if lines and not lines[0][0].isdigit():
        return lines[0], lines[1:], True
    return DEFAULT_V2, lines, False


def with_pyarrow(args):
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, rows, _ = read_text(args.input)
    columns, fields = [], []
    for i, name in enumerate(names):
        if name.replace("-", "_") in args.drop:
            continue
        values = [None if r[i] == "-" else r[i] for r in rows]
        if name in INT32 or name in INT64:
            kind = pa.int64() if args.int64 or name in INT64 else pa.int32()
            values = [None if v is None else int(v) for v in values]
        else:
            kind = pa.string()
        fields.append(pa.field(name.replace("-", "_"), kind))
        columns.append(pa.array(values, type=kind))
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    pq.write_table(
        table,
        args.output,
        compression=args.compression,
        row_group_size=args.row_group_size,
        data_page_size=args.page_size,
    )


def with_duckdb(args):
    import duckdb

    names, _, header = read_text(args.input)
    cols = ", ".join(
        f'"{n}" AS "{n.replace("-", "_")}"' for n in names if n.replace("-", "_") not in args.drop
    )
    con = duckdb.connect()
    source = (
        f"read_csv('{args.input}', delim=' ', header={str(header).lower()}, nullstr='-', "
        f"names={names!r}, auto_detect=true)"
    )
    options = f"FORMAT parquet, COMPRESSION {args.compression}"
    if args.row_group_size:
        options += f", ROW_GROUP_SIZE {args.row_group_size}"
    con.execute(f"COPY (SELECT {cols} FROM {source}) TO '{args.output}' ({options})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("writer", choices=["pyarrow", "duckdb"])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--compression", default="gzip")
    p.add_argument("--row-group-size", type=int, default=None)
    p.add_argument("--page-size", type=int, default=None)
    p.add_argument("--int64", action="store_true")
    p.add_argument("--drop", action="append", default=[])
    args = p.parse_args()
    (with_pyarrow if args.writer == "pyarrow" else with_duckdb)(args)


if __name__ == "__main__":
    main()
