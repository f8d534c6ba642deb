#!/usr/bin/env bash
# Set up, then run the whole test suite (unit, notebooks, browser). Extra arguments go
# to pytest, e.g. `bash scripts/test.sh -m "not browser"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "Checking the front end in js/: biome (lint, format), tsc (JSDoc types), node --test"
(cd js && npm run --silent lint && npm run --silent typecheck && npm test --silent)
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
