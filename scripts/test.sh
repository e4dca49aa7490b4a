#!/usr/bin/env bash
# The test command: set up (if needed) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false COMET_DISABLE_AUTO_LOGGING=1 MPLBACKEND=Agg
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=10 "$@"
