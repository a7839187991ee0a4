#!/usr/bin/env bash
# Make sure Debian's haproxy is installed: the several-hosts test puts two `tandem serve`
# processes behind it (tests/deploy/test_two_hosts.py, PostgreSQL run only).
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: haproxy missing and this is not a Debian-like system; install it" >&2
  exit 2
fi
echo "installing Debian's haproxy for the several-hosts test..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null
