#!/usr/bin/env bash
# Create .venv and install ckpt-widgets with TensorFlow (CPU) and the test/dev tools.
# Idempotent: a second run only checks. TF_FLAVOUR=tensorflow picks the full build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[${TF_FLAVOUR:-tensorflow-cpu},dev]"
