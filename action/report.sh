#!/usr/bin/env bash
# Step 5 of the action, both modes, before fix.sh edits anything: `tighten report`, the evidence
# report (one self-contained HTML page: per group and rule the traffic timeline, the coverage
# calendar, top sources, the cover table, the verified diff). Needs evidence: without a store
# (static lint only) it does nothing. The page is written outside the workspace, so that a
# pull request never picks it up; the next step uploads it as an artifact. Output report-file
# (empty when no report was written).
#
# Environment: INPUT_REPORT, INPUT_WORKING_DIRECTORY, INPUT_STATE, DB (ingest.sh's output),
# INPUT_SINCE, INPUT_ARGS, GITHUB_WORKSPACE, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

report=${INPUT_REPORT:-true}
one_of report "$report" true false
if [ "$report" = false ] || [ -z "${DB:-}" ]; then
    set_output report-file ""
    exit 0
fi
find_tighten
read_args "${INPUT_ARGS:-}"

cd "${GITHUB_WORKSPACE:?}"
dir=${INPUT_WORKING_DIRECTORY:-.}
case "$dir" in "$GITHUB_WORKSPACE"/*) dir=${dir#"$GITHUB_WORKSPACE"/} ;; esac
out="${RUNNER_TEMP:?}/tighten"
mkdir -p "$out"
html="$out/tighten-report.html"

args=(report "$dir" --db "$DB" --html "$html")
[ -n "${INPUT_STATE:-}" ] && args+=(--state "$INPUT_STATE")
[ -n "${INPUT_SINCE:-}" ] && args+=(--since "$INPUT_SINCE")
# From `args`, only what changes the evidence or the checks (lint's and fix's other options,
# such as --only or --fail-on, mean nothing to the report).
i=0
n=${#EXTRA[@]}
while [ "$i" -lt "$n" ]; do
    a=${EXTRA[$i]}
    case "$a" in
    --until | --min-days | --config | --var-file)
        [ $((i + 1)) -lt "$n" ] && args+=("$a" "${EXTRA[$((i + 1))]}")
        i=$((i + 1))
        ;;
    --until=* | --min-days=* | --config=* | --var-file=*) args+=("$a") ;;
    esac
    i=$((i + 1))
done

status=0
"$TIGHTEN" "${args[@]}" || status=$?
# A report is for reading: a failure to write one is a warning, never a failed lint or fix.
if [ "$status" -ne 0 ] || [ ! -s "$html" ]; then
    warning "tighten report failed (exit $status): no evidence report for this run"
    set_output report-file ""
    exit 0
fi
set_output report-file "$html"
