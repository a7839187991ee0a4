#!/usr/bin/env bash
# Make sure Debian's Chromium (Playwright drives it; `playwright install` cannot download
# browsers on this network) and poppler-utils (pdftotext reads the report's PDF back in
# its tests) are installed.
set -euo pipefail
. "$(dirname "$0")/debian_packages.sh"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
debian_install "for the browser and report tests" "${missing[@]}"
