#!/usr/bin/env bash
# Step 3 of the action: ingests the `flow-logs` and `aws-config` sources (one per line: files,
# directories, s3://bucket/prefix) into the evidence store, and says which store the checks use
# (output db; empty: static checks only).
#
# The store defaults to RUNNER_TEMP/tighten/evidence.db: outside the workspace, so that a fix
# pull request can never pick it up as a changed file. Re-ingesting is cheap: the store's ledger
# skips every object it already holds, so a store restored from a cache only reads new logs.
#
# Environment: INPUT_DB, INPUT_FLOW_LOGS, INPUT_AWS_CONFIG, INPUT_SINCE; runs in
# GITHUB_WORKSPACE, so relative paths are relative to the repository root.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"
find_tighten
cd "${GITHUB_WORKSPACE:?}"

db=${INPUT_DB:-}
read_list "${INPUT_FLOW_LOGS:-}"
flow_logs=(${LIST[@]+"${LIST[@]}"})
read_list "${INPUT_AWS_CONFIG:-}"
aws_config=(${LIST[@]+"${LIST[@]}"})

if [ ${#flow_logs[@]} -eq 0 ] && [ ${#aws_config[@]} -eq 0 ]; then
    if [ -n "$db" ] && [ ! -f "$db" ]; then
        warning "evidence store $db not found (a first run, or an expired cache): static checks only"
        db=""
    fi
    set_output db "$db"
    exit 0
fi

if [ -z "$db" ]; then
    db="${RUNNER_TEMP:?}/tighten/evidence.db"
fi
mkdir -p "$(dirname "$db")"

since=()
[ -n "${INPUT_SINCE:-}" ] && since=(--since "$INPUT_SINCE")

# Flow logs before the window are not needed (S3 keys are pruned by date before downloading);
# AWS Config is read whole: who had which group at the window's start may be older.
if [ ${#flow_logs[@]} -gt 0 ]; then
    echo "::group::tighten ingest flow-logs"
    status=0
    "$TIGHTEN" ingest flow-logs --db "$db" ${since[@]+"${since[@]}"} "${flow_logs[@]}" || status=$?
    echo "::endgroup::"
    [ "$status" = 0 ] || die "tighten ingest flow-logs failed (exit $status): see the log above"
fi
if [ ${#aws_config[@]} -gt 0 ]; then
    echo "::group::tighten ingest aws-config"
    status=0
    "$TIGHTEN" ingest aws-config --db "$db" "${aws_config[@]}" || status=$?
    echo "::endgroup::"
    [ "$status" = 0 ] || die "tighten ingest aws-config failed (exit $status): see the log above"
fi
set_output db "$db"
