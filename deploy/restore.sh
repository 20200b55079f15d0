#!/bin/sh
# Restore a backup into a NEW database and prove it: deploy/restore.sh FILE TARGET_URL
# TARGET_URL names a database that does not exist yet (it is created); the live one is never
# touched. Then the schema is checked and the audit trail verified on the restored copy.
set -eu
file=${1:?backup file}
target=$(printf '%s' "${2:?target database URL}" | sed 's/^postgresql+psycopg:/postgresql:/')
name=${target##*/}
server=${target%/*}/postgres
psql --quiet --no-psqlrc --dbname "$server" --command "CREATE DATABASE \"$name\""
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$target" "$file"
here=$(cd "$(dirname "$0")/.." && pwd)
DATABASE_URL=$target "$here/.venv/bin/python" -m service db check
DATABASE_URL=$target "$here/.venv/bin/python" -m service audit verify
