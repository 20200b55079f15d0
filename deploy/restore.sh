#!/bin/sh
# Restore a backup into a NEW database and prove it: deploy/restore.sh FILE TARGET
# TARGET is a database URL, or just a name: then the server and login of DATABASE_URL are used
# (the owner's, from /etc/grading/owner.env — it may create databases). The database must not
# exist yet (it is created); the live one is never touched. Then the schema is checked and the
# audit trail verified on the restored copy. Drop it afterwards: dropdb NAME.
set -eu
file=${1:?backup file}
given=${2:?target database URL or name}
case $given in
  *://*) target=$given ;;
  *) target=${DATABASE_URL:?set DATABASE_URL to the owner login, or give a URL}
     target=${target%/*}/$given ;;
esac
target=$(printf '%s' "$target" | sed 's/^postgresql+psycopg:/postgresql:/')
name=${target##*/}
server=${target%/*}/postgres
psql --quiet --no-psqlrc --dbname "$server" --command "CREATE DATABASE \"$name\""
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$target" "$file"
here=$(cd "$(dirname "$0")/.." && pwd)
DATABASE_URL=$target "$here/.venv/bin/python" -m service db check
DATABASE_URL=$target "$here/.venv/bin/python" -m service audit verify
