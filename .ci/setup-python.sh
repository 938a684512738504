#!/usr/bin/env bash
# Creates .venv with the Python tools the tests run against: moto's server (a local, stateful
# S3/EC2 endpoint for the live-AWS tests). Idempotent: a venv that already has the pinned version
# is left alone. Usage: bash .ci/setup-python.sh  (from anywhere; works in the repo root)
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"

if [ -x .venv/bin/moto_server ] && .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
