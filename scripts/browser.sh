#!/usr/bin/env bash
# Make sure Debian's Chromium (Playwright drives it; `playwright install` cannot download
# browsers on this network) and poppler-utils (pdftotext reads the report's PDF back in
# its tests) are installed.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ${missing[*]} missing and this is not a Debian-like system; install them" >&2
  exit 2
fi
echo "installing Debian's ${missing[*]} for the browser and report tests..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
