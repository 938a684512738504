#!/usr/bin/env bash
# Step 4 of the action, mode `lint`: `tighten lint` on the working directory, three renderings
# of one set of findings:
#   --format github    annotations on the pull request (printed, so the runner reads them);
#   --format sarif     the file github/codeql-action/upload-sarif uploads next (sarif: true);
#   --format markdown  the job's step summary.
# Sets outputs findings, sarif-file and exit-code (0, or 1 for findings at or above fail-on);
# finish.sh fails the job with it after the SARIF upload, so that code scanning always gets
# the results. A tool error (exit 2) fails this step at once.
#
# Environment: INPUT_MODE, INPUT_WORKING_DIRECTORY, INPUT_STATE, DB (ingest.sh's output),
# INPUT_SINCE, INPUT_FAIL_ON, INPUT_SARIF, INPUT_SARIF_FILE, INPUT_ARGS, GITHUB_WORKSPACE,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

mode=${INPUT_MODE:-lint}
one_of mode "$mode" lint fix
[ "$mode" = lint ] || exit 0
fail_on=${INPUT_FAIL_ON:-warning}
one_of fail-on "$fail_on" error warning note never
sarif=${INPUT_SARIF:-true}
one_of sarif "$sarif" true false
find_tighten
read_args "${INPUT_ARGS:-}"

# From the repository root, so that every path in the annotations and the SARIF file is
# relative to it, as GitHub needs to place them on the diff.
cd "${GITHUB_WORKSPACE:?}"
dir=${INPUT_WORKING_DIRECTORY:-.}
case "$dir" in "$GITHUB_WORKSPACE"/*) dir=${dir#"$GITHUB_WORKSPACE"/} ;; esac
out="${RUNNER_TEMP:?}/tighten"
mkdir -p "$out"

args=(lint "$dir")
[ -n "${INPUT_STATE:-}" ] && args+=(--state "$INPUT_STATE")
again=()
if [ -n "${DB:-}" ]; then
    args+=(--db "$DB")
    [ -n "${INPUT_SINCE:-}" ] && args+=(--since "$INPUT_SINCE")
    # The store's history records one run, not one per rendering.
    again=(--no-record)
fi
args+=(${EXTRA[@]+"${EXTRA[@]}"})

status=0
"$TIGHTEN" "${args[@]}" --format github --fail-on "$fail_on" >"$out/annotations.txt" || status=$?
cat "$out/annotations.txt"
case "$status" in
0 | 1) ;;
*) die "tighten lint failed (exit $status): see the errors above" ;;
esac
findings=$(grep -cE '^::(error|warning|notice) .*title=SG[0-9]+ ' "$out/annotations.txt" || true)

sarif_file=""
if [ "$sarif" = true ]; then
    sarif_file=${INPUT_SARIF_FILE:-$out/tighten.sarif}
    mkdir -p "$(dirname "$sarif_file")"
    "$TIGHTEN" "${args[@]}" ${again[@]+"${again[@]}"} --format sarif --fail-on never --output "$sarif_file" ||
        die "tighten lint --format sarif failed"
fi

# The step summary takes at most 1 MiB per step; past that GitHub drops it whole.
"$TIGHTEN" "${args[@]}" ${again[@]+"${again[@]}"} --format markdown --fail-on never --output "$out/summary.md" ||
    die "tighten lint --format markdown failed"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    limit=1000000
    if [ "$(wc -c <"$out/summary.md")" -le "$limit" ]; then
        cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
    else
        {
            head -c "$limit" "$out/summary.md" | sed '$d'
            printf '\n\n**Cut at 1 MB (GitHub'"'"'s limit for a step summary): %s finding(s) in all; code scanning has every one.**\n' "$findings"
        } >>"$GITHUB_STEP_SUMMARY"
    fi
fi

set_output findings "$findings"
set_output sarif-file "$sarif_file"
set_output exit-code "$status"
