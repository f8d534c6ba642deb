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
# tf-keras (Keras 2) writes the checkpoints of the Keras 2 migration tests. It requires the
# `tensorflow` distribution, which beside `tensorflow-cpu` would install a second copy of
# TensorFlow into the same site-packages: install it without dependencies, pinned to the
# TensorFlow release present.
tf_release=$(.venv/bin/python - <<'PY'
from importlib.metadata import PackageNotFoundError, version

for name in ("tensorflow", "tensorflow-cpu"):
    try:
        print(".".join(version(name).split(".")[:2]))
        break
    except PackageNotFoundError:
        pass
PY
)
.venv/bin/python -m pip install --quiet --no-deps "tf-keras==${tf_release}.*"
# keras-hub (tests on real architectures) requires tensorflow-text, which pins its own
# TensorFlow: install it without dependencies, with the two packages it imports.
.venv/bin/python -m pip install --quiet regex
.venv/bin/python -m pip install --quiet --no-deps "keras-hub>=0.32" tokenizers
