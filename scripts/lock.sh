#!/usr/bin/env bash
# requirements.lock pins, with hashes, every package that the core (with its test tools)
# and the examples install; scripts/install.sh installs from it. The packages themselves
# keep version ranges (pyproject.toml, examples/pyproject.toml).
#   scripts/lock.sh            re-resolve and write requirements.lock; pins that still fit
#                              are kept (add --upgrade to move every pin to the newest)
#   scripts/lock.sh --check    fail when requirements.lock no longer matches the pyproject
#                              files (re-resolves into a temporary copy; works offline
#                              from uv's cache)
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
LOCK=requirements.lock
if ! [ -x "$UV" ]; then
  echo "error: $UV is missing; run scripts/install.sh (uv comes with the test tools)" >&2
  exit 2
fi

compile() { # OUTPUT [uv option...]
  local out=$1
  shift
  # Both projects editable, so the examples' `tandem` requirement is met by the core here
  # instead of by a package of that name on the index; the two are left out of the lock.
  printf -- '-e .[test]\n-e ./examples\n' | "$UV" pip compile - --quiet \
    --universal --python-version 3.11 --generate-hashes \
    --no-emit-package tandem --no-emit-package tandem-examples \
    --custom-compile-command "bash scripts/lock.sh" -o "$out" "$@"
}

pins() { # the requirement lines of a lock, without hashes and comments
  grep -E '^[A-Za-z0-9]' "$1" | sed -E 's/[[:space:]]*\\$//' | sort
}

if [ "${1:-}" != "--check" ]; then
  compile "$LOCK" "$@"
  echo "wrote $LOCK ($(pins "$LOCK" | wc -l) packages)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$LOCK" "$tmp/lock"
if ! compile "$tmp/lock" 2>"$tmp/err" && ! compile "$tmp/lock" --offline 2>>"$tmp/err"; then
  cat "$tmp/err" >&2
  echo "error: could not re-resolve the dependencies to check $LOCK (no index and no cache)" >&2
  exit 1
fi
if ! diff <(pins "$LOCK") <(pins "$tmp/lock") >"$tmp/diff"; then
  echo "error: $LOCK no longer matches pyproject.toml and examples/pyproject.toml:" >&2
  sed 's/^/  /' "$tmp/diff" >&2
  echo "run: bash scripts/lock.sh   (then commit $LOCK)" >&2
  exit 1
fi
echo "$LOCK matches the pyproject files"
