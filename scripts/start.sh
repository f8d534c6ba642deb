#!/usr/bin/env bash
# Set up, then open JupyterLab on the quick-start notebook (localhost, token auth).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
args=(--ServerApp.ip=127.0.0.1)
if [ "$(id -u)" = 0 ]; then
    args+=(--allow-root)  # containers and fresh VMs often log in as root
fi
exec .venv/bin/jupyter lab "${args[@]}" notebooks/quickstart.ipynb "$@"
