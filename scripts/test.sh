#!/usr/bin/env bash
# The whole check: install, lint, type-check, and every test (API, real server,
# headless Chromium). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/browser.sh
export TANDEM_DATA_DIR=${TANDEM_DATA_DIR:-$(pwd)/../shared/data}
.venv/bin/ruff check --output-format concise .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
set +e
.venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  # pytest's "no tests collected" (e.g. a -k filter that matches nothing) is not a failure.
  echo "pytest collected no tests for: $*" >&2
  exit 0
fi
exit "$status"
