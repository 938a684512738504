#!/usr/bin/env bash
# Evidence-lint benchmark: `tighten lint --db` (every Terraform ingress rule joined to the inbound
# evidence of the interfaces that had its group) against one full read of the same store
# (`tighten evidence --by-group`), on synthetic data: ~1.3 million evidence rows at scale 1 (30 days
# of v5 flow logs), 360 security groups with 2,448 ingress rule entries, a terraform.tfstate and
# AWS Config history (bench/gen_lint_bench.py). Prints a markdown table: one row per scale.
#
#   bench/lint_vs_read.sh [--scale S | --scales S1,S2,...] [--repeat N] [--threads N] [--days N]
#                         [--seed N] [--lint-args "ARGS"] [--keep] [--skip-build]
#
# Environment (the flags win): SCALES (1; e.g. 0.25,0.5,1 shows linearity in evidence rows),
# REPEAT (3: runs of each timed command, the fastest is kept), THREADS (2: ingest threads), DAYS
# (30), SEED (1), LINT_ARGS (extra lint arguments, e.g. "--since 2026-10-08 --until 2026-10-21";
# default: the window of the store), BENCH_DATA (bench/.data-lint: generated data, reused while
# the parameters and the generator are unchanged), TIGHTEN (a tighten binary to use instead of
# building one), SKIP_BUILD=1, KEEP=1 (keep the stores and lint reports, path printed at the end).
#
# Each scale: generate (cached), ingest the flow logs and the AWS Config data into a fresh store
# (timed once, reported apart), check the store's evidence rows against the generator's
# prediction, then time (GNU time: wall, peak RSS) `tighten evidence --by-group --db STORE`
# (output to /dev/null) and `tighten lint TREE --db STORE --state TREE/terraform.tfstate --format
# json --fail-on never` (output to a file). Target: lint wall <= 2x the read.
#
# Needs: python3, cargo (unless TIGHTEN or --skip-build), GNU time (/usr/bin/time; Debian package
# `time`, installed with apt-get when missing and running as root).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

SCALES=${SCALES:-${SCALE:-1}}
REPEAT=${REPEAT:-3}
THREADS=${THREADS:-2}
DAYS=${DAYS:-30}
SEED=${SEED:-1}
LINT_ARGS=${LINT_ARGS:-}
BENCH_DATA=${BENCH_DATA:-$HERE/.data-lint}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP=${KEEP:-0}

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --scale|--scales) SCALES=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --days) DAYS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --lint-args) LINT_ARGS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

IFS=, read -r -a SCALE_LIST <<<"$SCALES"
[ "${#SCALE_LIST[@]}" -gt 0 ] || die "no scale given"
for s in "${SCALE_LIST[@]}"; do
    [[ $s =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v s="$s" 'BEGIN { exit !(s > 0) }' || die "bad scale: '$s' (a positive number)"
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "bad --repeat: '$REPEAT'"
read -r -a LINT_EXTRA <<<"$LINT_ARGS"
if [ "$DAYS" -lt 14 ] && [[ " $LINT_ARGS " != *" --min-days "* ]]; then
    log "warning: $DAYS days of flow logs: lint judges no rule with fewer than --min-days (default 14); pass --lint-args '--min-days 1'"
fi

# --- tools -------------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing GNU time (Debian package 'time')"
        apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
    fi
    [ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
fi
command -v python3 >/dev/null || die "python3 is needed"

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
TIGHTEN_VERSION=$("$TIGHTEN_BIN" --version)

mkdir -p "$BENCH_DATA"
WORK=$(mktemp -d "$BENCH_DATA/run.XXXXXX")
if [ "$KEEP" = 1 ]; then
    trap 'log "kept $WORK (stores, lint reports, logs)"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
trap 'exit 130' INT TERM

# --- measuring ---------------------------------------------------------------------------------
# measure NAME STDOUT -- CMD...: runs CMD REPEAT times under GNU time (CMD's output to the file
# STDOUT); sets NAME_WALL (fastest wall seconds), NAME_RSS (largest peak RSS, KiB) and NAME_CPU
# (user + sys seconds of the fastest run). A failing run ends the benchmark (its stderr shown).
measure() {
    local name=$1 stdout=$2; shift 3
    local best_wall="" max_rss=0 i wall rss user sys
    for ((i = 1; i <= REPEAT; i++)); do
        if ! /usr/bin/time -f '%e %M %U %S' -o "$WORK/$name.time" "$@" >"$stdout" 2>"$WORK/$name.err"; then
            sed 's/^/    /' "$WORK/$name.err" >&2
            return 1
        fi
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

# once NAME -- CMD...: one timed run (ingest), output to the log.
once() {
    local name=$1; shift 2
    local save=$REPEAT
    REPEAT=1
    measure "$name" "$WORK/$name.out" -- "$@" || { REPEAT=$save; die "$name failed: $*"; }
    REPEAT=$save
}

LOAD_BEFORE=$(cut -d ' ' -f 1 /proc/loadavg)
if awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.7) }'; then
    log "warning: load average $LOAD_BEFORE: other work is running, the timings will be noisy"
fi

RESULTS=$WORK/results.tsv
: >"$RESULTS"
FAIL=0
for SCALE in "${SCALE_LIST[@]}"; do
    # --- data ----------------------------------------------------------------------------------
    log "scale $SCALE: generating (cached in $BENCH_DATA)"
    python3 "$HERE/gen_lint_bench.py" --out "$BENCH_DATA" --seed "$SEED" --days "$DAYS" --scale "$SCALE" \
        >"$WORK/gen.json" || die "gen_lint_bench.py failed"
    GEN=$(tail -n 1 "$WORK/gen.json")
    field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$GEN" "$1"; }
    TREE=$(field terraform); STATE=$(field state); CONFIG=$(field config); FLOWS=$(field flowlogs)
    GEN_ROWS=$(field flows.expected_evidence_rows); GEN_RECORDS=$(field flows.records); GEN_OK=$(field flows.ok)
    GEN_GROUPS=$(field static.groups); GEN_RULES=$(field static.ingress_entries)
    GZ_BYTES=$(field flows.gzip_bytes); TEXT_BYTES=$(field flows.text_bytes)
    N_FILES=$(find "$FLOWS" -name '*.log.gz' | wc -l)
    find "$FLOWS" "$CONFIG" -type f -exec cat {} + >/dev/null  # warm the page cache

    # --- ingest (once, into a fresh store) -----------------------------------------------------
    STORE=$WORK/scale-$SCALE/evidence.db
    mkdir -p "$(dirname "$STORE")"
    log "scale $SCALE: ingest flow-logs ($N_FILES files, $GEN_RECORDS records, $((GZ_BYTES / 1048576)) MiB gzip'd), $THREADS threads"
    once INGEST_FLOWS -- "$TIGHTEN_BIN" ingest flow-logs --db "$STORE" --quiet --threads "$THREADS" "$FLOWS"
    T_RECORDS=$("$TIGHTEN_BIN" evidence --db "$STORE" --summary --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])') \
        || die "tighten evidence --summary failed"
    if [ "$T_RECORDS" != "$GEN_OK" ]; then
        log "FAILED: tighten stored $T_RECORDS flow records, the generator wrote $GEN_OK OK records (scale $SCALE)"
        FAIL=1
    fi
    log "scale $SCALE: ingest aws-config"
    once INGEST_CONFIG -- "$TIGHTEN_BIN" ingest aws-config --db "$STORE" --quiet "$CONFIG"
    STORE_BYTES=$(du -cb "$STORE"* | tail -n 1 | cut -f 1)
    # Evidence rows: the rows of `tighten evidence --format csv` (the store's own row count,
    # `--summary`'s `rows`, also counts the stored forms that reading merges).
    STORED_ROWS=$("$TIGHTEN_BIN" evidence --db "$STORE" --summary --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])') \
        || die "tighten evidence --summary failed"
    ROWS=$("$TIGHTEN_BIN" evidence --db "$STORE" --format csv | tail -n +2 | wc -l) || die "tighten evidence --format csv failed"
    if [ "$ROWS" != "$GEN_ROWS" ]; then
        log "FAILED: the store has $ROWS evidence rows, the generator predicted $GEN_ROWS (scale $SCALE)"
        FAIL=1
    else
        log "scale $SCALE: $ROWS evidence rows, as the generator predicted"
    fi

    # --- the read and the lint -----------------------------------------------------------------
    log "scale $SCALE: tighten evidence --by-group (best of $REPEAT)"
    measure READ /dev/null -- "$TIGHTEN_BIN" evidence --by-group --db "$STORE" \
        || die "tighten evidence --by-group failed (scale $SCALE)"
    LINT_OUT=$WORK/scale-$SCALE/lint.json
    log "scale $SCALE: tighten lint --db (best of $REPEAT)"
    if ! measure LINT "$LINT_OUT" -- "$TIGHTEN_BIN" lint "$TREE" --db "$STORE" --state "$STATE" \
        --format json --fail-on never "${LINT_EXTRA[@]}"; then
        if grep -q -- "--db" "$WORK/LINT.err" && grep -qi "unexpected argument\|unrecognized\|unknown" "$WORK/LINT.err"; then
            die "tighten lint does not accept --db yet: the evidence checks are not in this binary ($TIGHTEN_BIN). Everything before this step worked (scale $SCALE: $ROWS evidence rows, ingest ${INGEST_FLOWS_WALL}s + ${INGEST_CONFIG_WALL}s, read ${READ_WALL}s)."
        fi
        die "tighten lint --db failed (scale $SCALE); its stderr is above"
    fi
    read -r L_RULES L_GROUPS L_LINKED L_FINDINGS L_EVIDENCE < <(python3 -c '
import collections, json, sys
r = json.load(open(sys.argv[1]))
s = r.get("summary", {})
f = r.get("findings", [])
ev = s.get("evidence") or {}
codes = collections.Counter(x.get("code", "?") for x in f if not x.get("code", "SG0").startswith("SG0"))
detail = ",".join(f"{k}:{v}" for k, v in sorted(codes.items())) or "none"
judged = ev.get("rules_judged", "?")
print(s.get("rules", "?"), s.get("groups", "?"), s.get("linked_groups", "?"), len(f),
      f"{detail};judged:{judged}")
' "$LINT_OUT")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$SCALE" "$ROWS" "$GEN_RULES" "$GEN_GROUPS" "$L_RULES" "$L_GROUPS" "$L_LINKED" "$L_FINDINGS" \
        "$L_EVIDENCE" "$INGEST_FLOWS_WALL" "$INGEST_CONFIG_WALL" "$READ_WALL" "$READ_RSS" "$LINT_WALL" \
        "$LINT_RSS" "$GEN_RECORDS" "$N_FILES" "$GZ_BYTES" "$TEXT_BYTES" "$STORE_BYTES" "$STORED_ROWS" >>"$RESULTS"
    log "scale $SCALE: read ${READ_WALL}s, lint ${LINT_WALL}s"
    [ "$KEEP" = 1 ] || rm -f "$STORE" "$STORE"-wal "$STORE"-shm
done

# --- report ------------------------------------------------------------------------------------
python3 - "$RESULTS" <<'EOF'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
mb = lambda kib: f"{int(kib) / 1024:.0f}"
print()
print("| scale | evidence rows | ingress rules | groups | read s | read RSS MB | lint s | lint RSS MB | lint / read (target <= 2x) | µs per evidence row: read / lint |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
ok_all = True
for (scale, ev, gen_rules, gen_groups, l_rules, l_groups, linked, findings, codes, ing_f, ing_c,
     read_w, read_rss, lint_w, lint_rss, records, files, gz, text, store, stored) in rows:
    ev, rw, lw = int(ev), float(read_w), float(lint_w)
    ratio = lw / rw if rw > 0 else float("inf")
    ok = ratio <= 2.0
    ok_all &= ok
    print(f"| {scale} | {ev:,} | {int(gen_rules):,} | {gen_groups} | {rw:.2f} | {mb(read_rss)} | {lw:.2f} | {mb(lint_rss)} "
          f"| {ratio:.2f}x ({'met' if ok else 'MISSED'}) | {rw / ev * 1e6:.2f} / {lw / ev * 1e6:.2f} |")
print()
print("- lint wall <= 2x the read of the store (`evidence --by-group`):", "met at every scale" if ok_all else "MISSED")
for (scale, ev, gen_rules, gen_groups, l_rules, l_groups, linked, findings, codes, ing_f, ing_c,
     read_w, read_rss, lint_w, lint_rss, records, files, gz, text, store, stored) in rows:
    detail, _, judged = codes.partition(";judged:")
    print(f"- scale {scale}: ingest into a fresh store (once) flow logs {float(ing_f):.2f}s + AWS Config {float(ing_c):.2f}s; "
          f"{int(records):,} records in {files} files, {int(gz) / 1048576:.0f} MiB gzip'd ({int(text) / 1048576:.0f} MiB text); "
          f"store {int(store) / 1048576:.0f} MiB, {int(stored):,} stored rows; "
          f"lint: {l_rules} rules (ingress and egress), {l_groups} groups, {linked} linked to the state, "
          f"{judged} rules judged, {findings} findings, evidence findings {detail}")
EOF
cat <<EOF
- load average before the runs: $LOAD_BEFORE; $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); $TIGHTEN_VERSION ($TIGHTEN_BIN); best of $REPEAT runs; MB = MiB${LINT_ARGS:+; lint arguments: $LINT_ARGS}
EOF
exit $FAIL
