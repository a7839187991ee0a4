#!/usr/bin/env bash
# Install, then serve the ML Editor with its review UI on http://127.0.0.1:8000
# (trains it first if the store has no production version; on a fresh home, creates and
# prints one API key per role, saved in $TANDEM_HOME/demo-keys.txt). Extra args go to `tandem serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export TANDEM_DATA_DIR=${TANDEM_DATA_DIR:-$(pwd)/../shared/data}
exec .venv/bin/tandem serve --demo-keys "$@"
