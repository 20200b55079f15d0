#!/usr/bin/env bash
# `make test`: the whole suite on SQLite and on PostgreSQL, side by side — two pytest processes,
# so the PostgreSQL half's waits on the server leave the core to the SQLite half (quiet 2-core
# machine: 245 s instead of 400 s one after the other). Each half's output is shown when it
# ends, with its exit status and time; the run fails if either half fails.
#   tools/test_both.sh BIN PG_URL [pytest arguments...]
set -uo pipefail
bin=$1
pg_url=$2
shift 2
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

half() {
  local name=$1 started=$SECONDS status
  shift
  "$bin/python" -m pytest -p no:cacheprovider "$@" >"$logs/$name" 2>&1
  status=$?
  echo "==> suite on $name: exit $status after $((SECONDS - started)) s" >>"$logs/$name"
  return "$status"
}

half SQLite --db sqlite "$@" &
sqlite=$!
half PostgreSQL --db postgresql --pg-url "$pg_url" "$@" &
postgresql=$!
wait "$sqlite"
sqlite_status=$?
cat "$logs/SQLite"
wait "$postgresql"
postgresql_status=$?
cat "$logs/PostgreSQL"
[ "$sqlite_status" -eq 0 ] && [ "$postgresql_status" -eq 0 ]
