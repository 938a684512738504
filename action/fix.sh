#!/usr/bin/env bash
# Step 5 of the action, mode `fix`: `tighten fix` on the working directory. First `--diff`
# (writes nothing; exit 0 no fixes, 1 a non-empty diff), then, when there is something to fix,
# `--write --body FILE`: edits the Terraform files in the workspace and writes the pull
# request's description (the evidence, the window, each change and whether it is unsafe).
# Only safe fixes unless the input unsafe-fixes is true. Outputs patch-file (a unified diff
# that `git apply` takes), body-file, and changed (true/false); the step summary gets the body.
# Opening the pull request is the workflow's job (peter-evans/create-pull-request).
#
# Environment: INPUT_MODE, INPUT_WORKING_DIRECTORY, INPUT_STATE, DB (ingest.sh's output),
# INPUT_SINCE, INPUT_UNSAFE_FIXES, INPUT_ARGS, GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

mode=${INPUT_MODE:-lint}
one_of mode "$mode" lint fix
[ "$mode" = fix ] || exit 0
unsafe=${INPUT_UNSAFE_FIXES:-false}
one_of unsafe-fixes "$unsafe" true false
[ -n "${DB:-}" ] ||
    die "mode fix needs evidence: give db (a store restored from a cache or artifact) or flow-logs and aws-config"
find_tighten
read_args "${INPUT_ARGS:-}"

cd "${GITHUB_WORKSPACE:?}"
dir=${INPUT_WORKING_DIRECTORY:-.}
case "$dir" in "$GITHUB_WORKSPACE"/*) dir=${dir#"$GITHUB_WORKSPACE"/} ;; esac
out="${RUNNER_TEMP:?}/tighten"
mkdir -p "$out"
patch="$out/tighten-fix.patch"
body="$out/tighten-fix-body.md"
rm -f "$patch" "$body"

args=(fix "$dir" --db "$DB")
[ -n "${INPUT_STATE:-}" ] && args+=(--state "$INPUT_STATE")
[ -n "${INPUT_SINCE:-}" ] && args+=(--since "$INPUT_SINCE")
[ "$unsafe" = true ] && args+=(--unsafe-fixes)
args+=(${EXTRA[@]+"${EXTRA[@]}"})

status=0
"$TIGHTEN" "${args[@]}" --diff >"$patch" || status=$?
case "$status" in
0) changed=false ;;
1) changed=true ;;
*) die "tighten fix --diff failed (exit $status): see the errors above" ;;
esac

if [ "$changed" = true ]; then
    echo "::group::the proposed patch"
    cat "$patch"
    echo "::endgroup::"
    status=0
    "$TIGHTEN" "${args[@]}" --write --body "$body" || status=$?
    case "$status" in
    0 | 1) ;;
    *) die "tighten fix --write failed (exit $status): see the errors above" ;;
    esac
    [ -s "$body" ] || die "tighten fix --write left no pull-request body in $body"
    summary=$(cat "$body")
else
    echo "tighten: nothing to fix"
    summary=$(printf '## tighten fix\n\nNothing to fix.')
    patch="" body=""
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '%s\n' "$summary" >>"$GITHUB_STEP_SUMMARY"
fi

set_output changed "$changed"
set_output patch-file "$patch"
set_output body-file "$body"
