#!/usr/bin/env bash
# S3 ingest against local-file ingest of the same flow-log files: the generated bench files are
# uploaded to a moto_server on 127.0.0.1 and read back with `tighten ingest flow-logs s3://…`
# (downloads in memory, parsed by the same workers as local files). Prints a markdown table, the
# ratio to the target (S3 wall <= 1.2x local wall) and checks that both stores hold the same
# evidence.
#
#   bench/s3_vs_local.sh [--records N] [--per-file N] [--threads N] [--repeat N] [--skip-build]
#
# Environment (the flags win): RECORDS (2000000), PER_FILE (250000), THREADS (2), REPEAT (1),
# SEED (1), BENCH_DATA (bench/.data), TIGHTEN (a tighten binary instead of building one),
# SKIP_BUILD=1, MOTO (moto_server; default .venv/bin/moto_server).
#
# Needs: python3, cargo, GNU time (/usr/bin/time), moto[server] (with boto3) in .venv.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

RECORDS=${RECORDS:-2000000}
PER_FILE=${PER_FILE:-250000}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-1}
SEED=${SEED:-1}
BENCH_DATA=${BENCH_DATA:-$HERE/.data}
SKIP_BUILD=${SKIP_BUILD:-0}
MOTO=${MOTO:-$ROOT/.venv/bin/moto_server}

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --records) RECORDS=$2; shift 2 ;;
        --per-file) PER_FILE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
[ -x "$MOTO" ] || die "no moto_server at $MOTO: run .ci/setup-python.sh"
PYTHON=$(dirname "$MOTO")/python
"$PYTHON" -c 'import boto3' 2>/dev/null || die "$PYTHON has no boto3 (moto[server] brings it)"

# --- data --------------------------------------------------------------------------------------
DATA="$BENCH_DATA/r$RECORDS-p$PER_FILE-s$SEED"
python3 "$HERE/gen_flowlogs.py" --records "$RECORDS" --per-file "$PER_FILE" --seed "$SEED" --out "$DATA"

# --- tighten -----------------------------------------------------------------------------------
if [ -n "${TIGHTEN:-}" ]; then
    TIGHTEN_BIN=$TIGHTEN
else
    if [ "$SKIP_BUILD" != 1 ]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    fi
    TIGHTEN_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/tighten
fi
[ -x "$TIGHTEN_BIN" ] || die "no tighten binary at $TIGHTEN_BIN"

WORK=$(mktemp -d "$BENCH_DATA/s3run.XXXXXX")
MOTO_PID=""
cleanup() {
    [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- moto on 127.0.0.1, the files uploaded under a flow-log key layout ----------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"
(cd "$WORK" && exec "$MOTO" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1) &
MOTO_PID=$!
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 1 100); do
    curl -sf "$ENDPOINT/moto-api/data.json" >/dev/null 2>&1 && break
    sleep 0.2
done
"$PYTHON" - "$ENDPOINT" "$DATA" <<'PY'
import json, sys, boto3
endpoint, data = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
s3.create_bucket(Bucket="bench")
for name in json.load(open(f"{data}/manifest.json"))["files"]:
    key = f"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/10/01/123456789012_vpcflowlogs_us-east-1_fl-0bench_{name}"
    s3.upload_file(f"{data}/{name}", "bench", key)
PY
COMPRESSED=$(cat "$DATA"/*.gz | wc -c)
log "$(ls "$DATA"/*.gz | wc -l) files, $((COMPRESSED / 1048576)) MiB gzip'd, uploaded to moto at $ENDPOINT"

# --- measuring (as in ingest_vs_duckdb.sh) ---------------------------------------------------------
measure() {
    local name=$1 setup=$2; shift 3
    local best_wall="" max_rss=0 i wall rss user sys
    for ((i = 1; i <= REPEAT; i++)); do
        eval "$setup"
        /usr/bin/time -f '%e %M %U %S' -o "$WORK/$name.time" "$@" >/dev/null 2>"$WORK/$name.err" \
            || { cat "$WORK/$name.err" >&2; die "$name failed: $*"; }
        read -r wall rss user sys < <(tail -n 1 "$WORK/$name.time")
        if [ -z "$best_wall" ] || awk -v a="$wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
            best_wall=$wall
            printf -v "${name}_CPU" '%s' "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
        fi
        [ "$rss" -gt "$max_rss" ] && max_rss=$rss
        log "$name run $i: ${wall}s wall, ${user}s user, ${sys}s sys, peak RSS $((rss / 1024)) MiB"
    done
    printf -v "${name}_WALL" '%s' "$best_wall"
    printf -v "${name}_RSS" '%s' "$max_rss"
}

LOAD_BEFORE=$(cut -d ' ' -f 1 /proc/loadavg)
log "local files, $THREADS threads"
measure LOCAL "rm -f '$WORK'/local.db*" -- \
    "$TIGHTEN_BIN" ingest flow-logs --db "$WORK/local.db" --quiet --threads "$THREADS" "$DATA"
log "s3:// from moto, $THREADS threads"
measure S3 "rm -f '$WORK'/s3.db*" -- \
    "$TIGHTEN_BIN" ingest flow-logs --db "$WORK/s3.db" --quiet --threads "$THREADS" \
    --endpoint-url "$ENDPOINT" --region us-east-1 "s3://bench/AWSLogs/"

"$TIGHTEN_BIN" evidence --db "$WORK/local.db" --format csv >"$WORK/local.csv"
"$TIGHTEN_BIN" evidence --db "$WORK/s3.db" --format csv >"$WORK/s3.csv"
cmp -s "$WORK/local.csv" "$WORK/s3.csv" || die "the S3 store and the local store hold different evidence"

python3 - "$RECORDS" "$THREADS" "$LOCAL_WALL" "$LOCAL_RSS" "$LOCAL_CPU" "$S3_WALL" "$S3_RSS" "$S3_CPU" "$LOAD_BEFORE" <<'PY'
import sys
records, threads = int(sys.argv[1]), sys.argv[2]
lw, lr, lc, sw, sr, sc, load = sys.argv[3:]
lw, sw = float(lw), float(sw)
print("| run | wall s | peak RSS MB | CPU s | records/s |")
print("|---|---:|---:|---:|---:|")
print(f"| local files, {threads} threads | {lw:.2f} | {int(lr) // 1024} | {lc} | {records / lw / 1e6:.2f} M |")
print(f"| s3:// (moto on 127.0.0.1), {threads} threads | {sw:.2f} | {int(sr) // 1024} | {sc} | {records / sw / 1e6:.2f} M |")
ratio = sw / lw
print()
print(f"- S3 wall / local wall: {ratio:.2f}x (target <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'})")
print(f"- same evidence in both stores: yes; load average before the runs: {load}")
PY
