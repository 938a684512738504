#!/usr/bin/env bash
# Ingest at several sizes and on both data sets: runs bench/ingest_vs_duckdb.sh for every
# (profile, record count) and prints one table, so that linearity (seconds per million records)
# and the ratios to zcat and DuckDB can be read side by side.
#
#   bench/ingest_scaling.sh [--sizes "1000000 5000000 20000000"] [--profiles "skewed flat"]
#                           [--repeat N] [--skip-build]
#
# Environment: as bench/ingest_vs_duckdb.sh (THREADS, PER_FILE, BENCH_DATA, TIGHTEN, ...), plus
# SIZES and PROFILES (the flags win). 20 M records need about 600 MiB of generated files per
# profile in BENCH_DATA and about 5 GiB of memory for DuckDB.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SIZES=${SIZES:-"1000000 5000000 20000000"}
PROFILES=${PROFILES:-"skewed flat"}
REPEAT=${REPEAT:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --sizes) SIZES=$2; shift 2 ;;
        --profiles) PROFILES=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ -z "${TIGHTEN:-}" ] && [ "$SKIP_BUILD" != 1 ]; then
    echo "bench: cargo build --release" >&2
    (cd "$ROOT" && cargo build --release --quiet)
fi

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
for profile in $PROFILES; do
    for records in $SIZES; do
        echo "bench: $profile, $records records" >&2
        # Files of at most 500,000 records (AWS's deliveries are smaller still), at least four.
        per_file=${PER_FILE:-$(( records / 4 < 500000 ? records / 4 : 500000 ))}
        BENCH_RESULT=$RESULTS PROFILE=$profile RECORDS=$records PER_FILE=$per_file REPEAT=$REPEAT \
            SKIP_BUILD=1 bash "$HERE/ingest_vs_duckdb.sh" >/dev/null
    done
done

python3 - "$RESULTS" "${THREADS:-2}" <<'EOF'
import sys
threads = sys.argv[2]
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print()
print(f"| data | records | zcat 1 core s | DuckDB {threads} thr s | tighten {threads} thr s "
      "| tighten s per M records | / zcat | / DuckDB | tighten RSS MB | DuckDB RSS MB | rows stored |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for profile, records, zcat, duck, duck_rss, tw, t_rss, t_cpu, t_rows in rows:
    n, z, d, t = int(records), float(zcat), float(duck), float(tw)
    print(f"| {profile} | {n / 1e6:g} M | {z:.2f} | {d:.2f} | {t:.2f} | {t / n * 1e6:.3f} "
          f"| {t / z:.2f}x | {t / d:.2f}x | {int(t_rss) / 1024:.0f} | {int(duck_rss) / 1024:.0f} "
          f"| {int(t_rows):,} |")
EOF
