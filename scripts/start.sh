#!/usr/bin/env bash
# Set up, then open JupyterLab on the quick-start notebook (localhost, token auth).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jupyter lab --ServerApp.ip=127.0.0.1 notebooks/quickstart.ipynb "$@"
