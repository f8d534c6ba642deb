#!/usr/bin/env bash
# Set up, then open JupyterLab on the quick-start notebook (localhost, token auth).
# Extra arguments go to `jupyter lab` (e.g. --ServerApp.port=8899 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "start.sh: setting up .venv with ckpt-widgets, TensorFlow (CPU) and JupyterLab;"
echo "          the first run downloads about 1 GB and takes a few minutes."
bash scripts/setup.sh &
setup=$!
while kill -0 "$setup" 2>/dev/null; do  # pip is quiet for minutes: say it still works
    sleep 20
    if kill -0 "$setup" 2>/dev/null; then
        echo "start.sh: still installing (${SECONDS} s so far)..."
    fi
done
wait "$setup"
args=(
    --ServerApp.ip=127.0.0.1
    --ServerApp.root_dir=notebooks  # the notebook's URL is then .../lab/tree/quickstart.ipynb
    --LabApp.default_url=/lab/tree/quickstart.ipynb  # opened, and printed, instead of the Launcher
)
if [ "$(id -u)" = 0 ]; then
    args+=(--allow-root)  # containers and fresh VMs often log in as root
fi
echo "start.sh: starting JupyterLab on notebooks/quickstart.ipynb; if no browser opens,"
echo "          open the URL ending in /lab/tree/quickstart.ipynb?token=... printed below."
exec .venv/bin/jupyter lab "${args[@]}" "$@"
