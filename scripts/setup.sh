#!/usr/bin/env bash
# Create .venv from the lock file (idempotent). Used by the test and demo commands.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.lock-sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setting up .venv from requirements.lock (first run downloads ~5 GB of torch wheels, a few minutes)" >&2
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements.lock
  .venv/bin/pip install --quiet --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
# pdftotext/pdftoppm read the PDF reports back in tests; install them when we can.
if ! command -v pdftotext >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq poppler-utils) >/dev/null 2>&1 || echo "note: poppler-utils not installed; PDF text checks will be skipped" >&2
fi
