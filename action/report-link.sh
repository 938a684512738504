#!/usr/bin/env bash
# After the evidence report was uploaded as an artifact: links it from the step summary and, in
# fix mode, from the pull request's description (the body file fix.sh wrote, which the workflow
# then gives to the pull request). The link is the artifact's own URL (upload-artifact's
# artifact-url), else the run's artifacts list.
#
# Environment: ARTIFACT_URL, BODY_FILE (fix.sh's body-file, may be empty), GITHUB_SERVER_URL,
# GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_STEP_SUMMARY.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

url=${ARTIFACT_URL:-}
if [ -z "$url" ] && [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GITHUB_RUN_ID:-}" ]; then
    url="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID#artifacts"
fi
if [ -n "$url" ]; then
    line="**Evidence report:** [tighten-report]($url) — one HTML page per run (traffic timelines, coverage calendars, cover tables, diffs); download and open it, it fetches nothing."
else
    line="**Evidence report:** the artifact \`tighten-report\` of this run — one HTML page; download and open it, it fetches nothing."
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '\n%s\n' "$line" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${BODY_FILE:-}" ] && [ -f "$BODY_FILE" ]; then
    printf '\n%s\n' "$line" >>"$BODY_FILE"
fi
set_output report-url "$url"
