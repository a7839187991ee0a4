#!/usr/bin/env bash
# Make sure Debian's haproxy is installed: the several-hosts test puts two `tandem serve`
# processes behind it (tests/deploy/test_two_hosts.py, PostgreSQL run only).
set -euo pipefail
. "$(dirname "$0")/debian_packages.sh"
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
debian_install "for the several-hosts test" haproxy
