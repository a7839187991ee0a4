#!/usr/bin/env bash
# Create .venv/ and install Tandem with its test tools, and the examples beside it
# (skipped when up to date). Third-party packages come from requirements.lock, pinned
# with hashes (scripts/lock.sh makes it); the two projects are installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Tandem needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
stamp=.venv/.tandem-installed
want=$(cat pyproject.toml examples/pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/tandem ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
[ -d .venv ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip --quiet)
"${pip[@]}" install --upgrade pip
"${pip[@]}" install --require-hashes -r requirements.lock
"${pip[@]}" install --no-deps -e . -e ./examples
echo "$want" > "$stamp"
echo "installed Tandem and its examples into .venv/ (console script: .venv/bin/tandem)"
