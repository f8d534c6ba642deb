#!/usr/bin/env bash
# Create .venv and install ckpt-widgets with TensorFlow (CPU) and the test/dev tools.
# Idempotent: a second run only checks. TF_FLAVOUR=tensorflow picks the full build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
echo "setup: upgrading pip"
.venv/bin/python -m pip install --quiet --upgrade pip
echo "setup: installing ckpt-widgets with ${TF_FLAVOUR:-tensorflow-cpu}, JupyterLab and the dev tools (the long step)"
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
echo "setup: installing tf-keras ${tf_release} (Keras 2, for the migration tests)"
.venv/bin/python -m pip install --quiet --no-deps "tf-keras==${tf_release}.*"
# keras_hub builds the transformer backbones of the real-architecture and differential
# tests (tiny configs, random weights, never a preset). Its declared dependencies pull
# tensorflow-text and kagglehub, which would bring a second TensorFlow: install it without
# them, plus the two packages it imports at start-up.
echo "setup: installing keras-hub (transformer backbones for the tests)"
.venv/bin/python -m pip install --quiet --no-deps "keras-hub==0.32.0" "tokenizers>=0.20"
.venv/bin/python -m pip install --quiet "regex>=2024.1"
# JAX (CPU) beside TensorFlow: tests/test_backends.py restores TensorFlow checkpoints into
# Keras models on the JAX backend, in a process of its own (KERAS_BACKEND=jax).
echo "setup: installing jax (CPU; the JAX-backend tests and notebook)"
.venv/bin/python -m pip install --quiet jax jaxlib
# PyTorch for the same tests on KERAS_BACKEND=torch. Pinned: on these machines 2.13.0 is
# the CPU build (~190 MB); an unpinned `torch` pulls a CUDA build of several GB.
echo "setup: installing torch 2.13.0 (CPU; the PyTorch-backend tests)"
.venv/bin/python -m pip install --quiet "torch==2.13.0"
# The widget's front end: ES modules in js/src/, bundled by esbuild into js/dist/widget.js
# (what the widget serves). Node.js and npm are needed: installed from Debian when missing
# and this runs as root (a fresh machine or container), else asked for.
if ! command -v npm >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's nodejs and npm to build the widget's front end"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! command -v npm >/dev/null; then
    echo "setup: npm not found; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
echo "setup: installing the front end's build tools (npm ci in js/) and bundling js/src/ into js/dist/widget.js"
(cd js && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
