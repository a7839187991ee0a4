#!/usr/bin/env bash
# Install, train the two example models if the store has no production version of them
# (a re-run serves what is there), then serve them with the review UI on
# http://127.0.0.1:8000 (on a fresh home, creates and prints one API key per role, saved
# in $TANDEM_HOME/demo-keys.txt). Extra args go to `tandem serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
data=${TANDEM_DATA_DIR:-$(pwd)/../shared/data}
versions=$(.venv/bin/tandem models list)
for model in ml-editor digits; do
  if ! grep -qE "│ $model +│ [^│]+│ production" <<<"$versions"; then
    .venv/bin/tandem train "$model" --data "$data"
  fi
done
exec .venv/bin/tandem serve --demo-keys "$@"
