#!/usr/bin/env bash
# Creates .venv with the pinned Python tools of .ci/requirements.txt (moto's server for the
# live-AWS tests, python-hcl2 and markdown-it-py as independent readers of what `tighten fix`
# writes, actionlint, shellcheck and hadolint for the action, scripts and Dockerfile). Idempotent: a venv installed from the same requirements file is left alone.
# Usage: bash .ci/setup-python.sh  (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=".venv/.requirements.sha256"
want=$(sha256sum .ci/requirements.txt | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/moto_server ] && [ -x .venv/bin/actionlint ]; then
    exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
echo "$want" > "$stamp"
