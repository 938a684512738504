#!/usr/bin/env bash
# Last step of the action: in lint mode, fails the job when lint.sh found findings at or above
# `fail-on` (exit 1). It runs after the SARIF upload, so that code scanning has the results of
# a failing run too.
#
# Environment: INPUT_MODE, INPUT_FAIL_ON, EXIT_CODE and FINDINGS (lint.sh's outputs).
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname "$0")/lib.sh"

[ "${INPUT_MODE:-lint}" = lint ] || exit 0
case "${EXIT_CODE:-}" in
0) echo "tighten: ${FINDINGS:-0} finding(s), none at or above ${INPUT_FAIL_ON:-warning}" ;;
1)
    echo "tighten: ${FINDINGS:-0} finding(s), some at or above fail-on: ${INPUT_FAIL_ON:-warning}"
    exit 1
    ;;
*) die "the lint step left no exit code" ;;
esac
