#!/usr/bin/env bash
# Flow-log ingest benchmark: `tighten ingest flow-logs` against the decompression floor (zcat on
# one core) and DuckDB (read_csv + GROUP BY into a database file, same thread count), on the same
# synthetic gzip'd v5 flow logs. Prints a markdown table and the ratios to the targets.
#
#   bench/ingest_vs_duckdb.sh [--records N] [--per-file N] [--profile skewed|flat] [--threads N]
#                             [--repeat N] [--skip-build]
#
# Environment (the flags win): RECORDS (5000000), PER_FILE (500000), PROFILE (skewed; flat is the
# low-skew set, see gen_flowlogs.py), THREADS (2), REPEAT (1: runs per tool, the fastest is kept),
# SEED (1), BENCH_DATA (bench/.data: generated files, reused while the parameters and the
# generator are unchanged), BENCH_VENV (bench/.venv: Python venv holding duckdb), TIGHTEN (a
# tighten binary to use instead of building one), SKIP_BUILD=1, BENCH_RESULT (a file to append
# one tab-separated line of the figures to, for bench/ingest_scaling.sh).
#
# Needs: python3 (with venv and pip), cargo, gzip, taskset, GNU time (/usr/bin/time; Debian package
# `time`, installed with apt-get when missing and running as root).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

RECORDS=${RECORDS:-5000000}
PER_FILE=${PER_FILE:-500000}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-1}
SEED=${SEED:-1}
BENCH_DATA=${BENCH_DATA:-$HERE/.data}
BENCH_VENV=${BENCH_VENV:-$HERE/.venv}
SKIP_BUILD=${SKIP_BUILD:-0}
PROFILE=${PROFILE:-skewed}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --records) RECORDS=$2; shift 2 ;;
        --per-file) PER_FILE=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing GNU time (Debian package 'time')"
        apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
    fi
    [ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
fi
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
command -v zcat >/dev/null || die "zcat is needed (gzip)"
command -v python3 >/dev/null || die "python3 is needed"

if ! "$BENCH_VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    log "creating $BENCH_VENV with duckdb"
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install -q --disable-pip-version-check duckdb
fi
DUCKDB_VERSION=$("$BENCH_VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')

# --- data --------------------------------------------------------------------------------------
case $PROFILE in
    skewed) DATA="$BENCH_DATA/r$RECORDS-p$PER_FILE-s$SEED" ;;
    flat) DATA="$BENCH_DATA/r$RECORDS-p$PER_FILE-s$SEED-flat" ;;
    *) die "unknown profile: $PROFILE (skewed or flat)" ;;
esac
python3 "$HERE/gen_flowlogs.py" --records "$RECORDS" --per-file "$PER_FILE" --seed "$SEED" \
    --profile "$PROFILE" --out "$DATA"
mapfile -t FILES < <(python3 -c 'import json,sys; [print(sys.argv[1] + "/" + f) for f in json.load(open(sys.argv[1] + "/manifest.json"))["files"]]' "$DATA")
read -r GEN_RECORDS GEN_OK GEN_NODATA GEN_SKIPDATA UNCOMPRESSED < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1] + "/manifest.json"))["counts"]; print(c["records"], c["ok"], c["nodata"], c["skipdata"], c["text_bytes"])' "$DATA")

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

WORK=$(mktemp -d "$BENCH_DATA/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- measuring ---------------------------------------------------------------------------------
# measure NAME STDOUT SETUP_CMD -- CMD...: runs CMD REPEAT times under GNU time (SETUP_CMD before
# each run, untimed; CMD's output to the file STDOUT); sets NAME_WALL (fastest wall seconds) and
# NAME_RSS (largest peak RSS, KiB), NAME_CPU (user + sys seconds of the fastest run).
measure() {
    local name=$1 stdout=$2 setup=$3; shift 4
    local best_wall="" max_rss=0 i wall rss user sys
    for ((i = 1; i <= REPEAT; i++)); do
        eval "$setup"
        /usr/bin/time -f '%e %M %U %S' -o "$WORK/$name.time" "$@" >"$stdout" 2>"$WORK/$name.err" \
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

COMPRESSED=$(cat "${FILES[@]}" | wc -c)  # also warms the page cache: every tool reads from memory
log "${#FILES[@]} files, $GEN_RECORDS records, $((COMPRESSED / 1048576)) MiB gzip'd"
LOAD_BEFORE=$(cut -d ' ' -f 1 /proc/loadavg)
if awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.7) }'; then
    log "warning: load average $LOAD_BEFORE: other work is running, the timings will be noisy"
fi

log "zcat on one core"
measure ZCAT /dev/null ":" -- taskset -c 0 zcat "${FILES[@]}"

log "DuckDB $DUCKDB_VERSION, $THREADS threads"
measure DUCK "$WORK/DUCK.out" "rm -f '$WORK/duck.duckdb' '$WORK/duck.duckdb.wal'" -- \
    "$BENCH_VENV/bin/python" "$HERE/duckdb_aggregate.py" --db "$WORK/duck.duckdb" --threads "$THREADS" "${FILES[@]}"
read -r DUCK_ROWS DUCK_OK < <(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); print(d["rows"], d["ok_records"])' "$WORK/DUCK.out")
DUCK_DB_SIZE=$(wc -c <"$WORK/duck.duckdb")

log "tighten, $THREADS threads"
measure TIGHTEN /dev/null "rm -f '$WORK'/tighten.db*" -- \
    "$TIGHTEN_BIN" ingest flow-logs --db "$WORK/tighten.db" --quiet --threads "$THREADS" "$DATA"
TIGHTEN_DB_SIZE=$(du -cb "$WORK"/tighten.db* | tail -n 1 | cut -f 1)
"$TIGHTEN_BIN" evidence --db "$WORK/tighten.db" --summary --format json >"$WORK/summary.json" \
    || die "tighten evidence --summary failed"
read -r T_ROWS T_RECORDS T_NODATA T_SKIPDATA T_MALFORMED < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
m = s.get("malformed", 0)
print(s["rows"], s["records"], s.get("nodata", "?"), s.get("skipdata", "?"), sum(m.values()) if isinstance(m, dict) else m)
' "$WORK/summary.json")

# --- report ------------------------------------------------------------------------------------
python3 - "$GEN_RECORDS" "$THREADS" "$ZCAT_WALL" "$ZCAT_RSS" "$DUCK_WALL" "$DUCK_RSS" \
    "$TIGHTEN_WALL" "$TIGHTEN_RSS" <<'EOF'
import sys
records, threads = int(sys.argv[1]), sys.argv[2]
rows = [("zcat, 1 core", *sys.argv[3:5]), (f"DuckDB, {threads} threads", *sys.argv[5:7]),
        (f"tighten, {threads} threads", *sys.argv[7:9])]
print()
print("| run | wall s | peak RSS MB | records/s |")
print("|---|---:|---:|---:|")
for name, wall, rss in rows:
    wall = float(wall)
    print(f"| {name} | {wall:.2f} | {int(rss) / 1024:.0f} | {records / wall / 1e6:.2f} M |" if wall > 0
          else f"| {name} | {wall:.2f} | {int(rss) / 1024:.0f} | - |")
z, d, t = (float(r[1]) for r in rows)
t_rss = int(rows[2][2]) / 1024
ok = lambda c: "met" if c else "MISSED"
print()
print(f"- tighten wall / DuckDB wall: {t / d:.2f}x (target <= 0.5x: {ok(t <= 0.5 * d)})")
print(f"- tighten wall / zcat (1 core) wall: {t / z:.2f}x (target <= 1.0x: {ok(t <= z)})")
print(f"- tighten peak RSS: {t_rss:.0f} MB (target <= 200 MB: {ok(t_rss <= 200)})")
EOF
cat <<EOF
- data ($PROFILE): $GEN_RECORDS records ($GEN_OK OK, $GEN_NODATA NODATA, $GEN_SKIPDATA SKIPDATA) in ${#FILES[@]} files, $((COMPRESSED / 1048576)) MiB gzip'd, $((UNCOMPRESSED / 1048576)) MiB as text
- CPU seconds (user + sys): zcat $ZCAT_CPU, DuckDB $DUCK_CPU, tighten $TIGHTEN_CPU; DuckDB's own time inside Python: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$WORK/DUCK.out")s
- stored: DuckDB $DUCK_ROWS aggregate rows ($((DUCK_DB_SIZE / 1048576)) MiB file); tighten $T_ROWS evidence rows ($((TIGHTEN_DB_SIZE / 1048576)) MiB), $T_RECORDS records, $T_NODATA NODATA, $T_SKIPDATA SKIPDATA, $T_MALFORMED malformed
- load average before the runs: $LOAD_BEFORE; $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); $("$TIGHTEN_BIN" --version); DuckDB $DUCKDB_VERSION; $(gzip --version | head -n 1); MB = MiB
EOF

if [ -n "${BENCH_RESULT:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PROFILE" "$GEN_RECORDS" "$ZCAT_WALL" "$DUCK_WALL" \
        "$DUCK_RSS" "$TIGHTEN_WALL" "$TIGHTEN_RSS" "$TIGHTEN_CPU" "$T_ROWS" >>"$BENCH_RESULT"
fi

fail=0
if [ "$T_RECORDS" != "$GEN_OK" ]; then
    echo "bench: FAILED: tighten stored $T_RECORDS records, the generator wrote $GEN_OK OK records" >&2
    fail=1
fi
if [ "$DUCK_OK" != "$GEN_OK" ]; then
    echo "bench: FAILED: DuckDB aggregated $DUCK_OK OK records, the generator wrote $GEN_OK" >&2
    fail=1
fi
if [ "$T_MALFORMED" != 0 ]; then
    echo "bench: FAILED: tighten skipped $T_MALFORMED malformed lines" >&2
    fail=1
fi
exit $fail
