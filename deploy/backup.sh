#!/bin/sh
# Back up the grading database: deploy/backup.sh [FILE]   (DATABASE_URL from the environment)
# pg_dump's custom format: compressed, restorable table by table, checked by pg_restore --list.
set -eu
url=$(printf '%s' "${DATABASE_URL:?set DATABASE_URL}" | sed 's/^postgresql+psycopg:/postgresql:/')
file=${1:-grading-$(date -u +%Y%m%dT%H%M%SZ).dump}
pg_dump --format=custom --no-owner --no-privileges --file "$file" "$url"
pg_restore --list "$file" > /dev/null   # readable, or fail now rather than on the day it is needed
echo "backed up to $file ($(wc -c < "$file") bytes)"
