#!/usr/bin/env bash
# The large-account path against `ingest flow-logs`, on the same synthetic gzip'd v5 flow logs
# (bench/gen_flowlogs.py): the DuckDB rendering of `tighten athena-sql` run over the files (the
# local stand-in for Athena's scan) then `tighten ingest evidence` of its result, versus
# `tighten ingest flow-logs` of the files. Prints rows in, rows out and times side by side, and
# checks that both stores give the same `tighten evidence` (estimates of capped groups aside).
#
#   bench/athena_vs_ingest.sh [--records N] [--per-file N] [--threads N] [--skip-build]
#
# Environment (the flags win): RECORDS (1000000), PER_FILE (250000), THREADS (2), SEED (1),
# BENCH_DATA (bench/.data), PYTHON (.venv/bin/python: needs duckdb), TIGHTEN (a tighten binary
# to use instead of building one), INGEST_TIGHTEN (the binary timed for `ingest flow-logs`;
# default TIGHTEN), SKIP_BUILD=1.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

RECORDS=${RECORDS:-1000000}
PER_FILE=${PER_FILE:-250000}
THREADS=${THREADS:-2}
SEED=${SEED:-1}
BENCH_DATA=${BENCH_DATA:-$HERE/.data}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
SKIP_BUILD=${SKIP_BUILD:-0}

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --records) RECORDS=$2; shift 2 ;;
        --per-file) PER_FILE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
"$PYTHON" -c 'import duckdb' 2>/dev/null || die "$PYTHON cannot import duckdb (bash .ci/setup-python.sh)"

DATA="$BENCH_DATA/r$RECORDS-p$PER_FILE-s$SEED"
python3 "$HERE/gen_flowlogs.py" --records "$RECORDS" --per-file "$PER_FILE" --seed "$SEED" --out "$DATA" >&2

if [ -n "${TIGHTEN:-}" ]; then
    BIN=$TIGHTEN
else
    if [ "$SKIP_BUILD" != 1 ]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --locked --quiet) || die "cargo build --release failed"
    fi
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/tighten
fi
[ -x "$BIN" ] || die "no tighten binary at $BIN"
INGEST_BIN=${INGEST_TIGHTEN:-$BIN}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/athena-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The files under AWS's date layout (one day's partition): what the text table's DDL reads.
PART="$WORK/logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/10/01"
mkdir -p "$PART"
for f in "$DATA"/flows-*.log.gz; do ln -s "$f" "$PART/"; done
cat "$DATA"/flows-*.log.gz >/dev/null  # page cache: both sides read from memory

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

"$BIN" athena-sql --ddl --dialect duckdb --location "$WORK/logs" >"$WORK/view.sql"
"$BIN" athena-sql --dialect duckdb --since 2026-10-01 --until 2026-10-01 >"$WORK/query.sql"

log "DuckDB rendering of athena-sql, $THREADS threads"
t=$(now)
DUCKDB_THREADS=$THREADS "$PYTHON" "$ROOT/tests/py/athena_fixture.py" query \
    "$WORK/view.sql" "$WORK/query.sql" "$WORK/result.csv.gz" >"$WORK/query.json"
QUERY_S=$(since "$t")
OUT_ROWS=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$WORK/query.json")
RESULT_BYTES=$(wc -c <"$WORK/result.csv.gz")

log "tighten ingest evidence"
t=$(now)
"$BIN" ingest evidence --quiet --db "$WORK/imported.db" "$WORK/result.csv.gz"
IMPORT_S=$(since "$t")

log "tighten ingest flow-logs, $THREADS threads"
t=$(now)
"$INGEST_BIN" ingest flow-logs --quiet --threads "$THREADS" --db "$WORK/flow-logs.db" "$DATA"
INGEST_S=$(since "$t")

"$BIN" evidence --format csv --db "$WORK/flow-logs.db" >"$WORK/a.csv"
"$BIN" evidence --format csv --db "$WORK/imported.db" >"$WORK/b.csv"
read -r EVIDENCE_ROWS SAME ESTIMATES WORST < <("$PYTHON" - "$WORK/a.csv" "$WORK/b.csv" <<'PY'
import sys
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
if len(a) != len(b):
    sys.exit(f"evidence row counts differ: {len(a)} vs {len(b)}")
col = a[0].split(",").index("sources")
same = estimates = 0
worst = 0.0
for x, y in zip(a[1:], b[1:]):
    xs, ys = x.split(","), y.split(",")
    if xs == ys:
        same += 1
    elif xs[:col] + xs[col + 1:] == ys[:col] + ys[col + 1:]:
        estimates += 1
        worst = max(worst, abs(int(xs[col]) - int(ys[col])) / int(xs[col]))
    else:
        sys.exit(f"evidence differs:\n{x}\n{y}")
print(len(a) - 1, same, estimates, f"{100 * worst:.1f}")
PY
)

cat <<TABLE
| path | rows in | rows out | time (${THREADS} threads) |
|---|---:|---:|---:|
| \`ingest flow-logs\` (download + parse + aggregate + store) | $RECORDS records | $(sqlite3 "$WORK/flow-logs.db" 'SELECT sum(rows) FROM ledger' 2>/dev/null || echo '?') rows merged | ${INGEST_S} s |
| DuckDB rendering of \`athena-sql\` (the engine's scan) | $RECORDS records | $OUT_ROWS result rows ($((RESULT_BYTES / 1024)) KiB gzip'd CSV) | ${QUERY_S} s |
| \`ingest evidence\` of that result | $OUT_ROWS result rows | $(sqlite3 "$WORK/imported.db" 'SELECT sum(rows) FROM ledger' 2>/dev/null || echo '?') rows merged | ${IMPORT_S} s |

\`tighten evidence\`: $EVIDENCE_ROWS rows on both sides, $SAME identical, $ESTIMATES differing only in the
estimated distinct count of a capped group (tighten's sketch vs the engine's approx_distinct; largest
difference ${WORST} %).
TABLE
