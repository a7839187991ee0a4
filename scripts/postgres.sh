#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#   scripts/postgres.sh start DIR   installs Debian's postgresql if needed, starts a cluster
#                                   in DIR on a free local port, prints its URL on stdout
#   scripts/postgres.sh stop DIR    stops it and removes DIR
# fsync is off (tests need no durability) unless TANDEM_PG_FSYNC=on (benchmarks/load.py).
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  if [ -z "$(bindir)" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing Debian's postgresql for the test suite..." >&2
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
  fi
  bin=$(bindir)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U tandem --auth=trust -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${TANDEM_PG_FSYNC:-off} -c max_connections=300" start >&2
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U tandem tandem
  echo "postgresql+psycopg://tandem@127.0.0.1:$port/tandem"
  ;;
stop)
  bin=$(bindir)
  if [ -n "$bin" ] && [ -d "$dir/data" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >&2 || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
