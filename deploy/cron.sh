#!/bin/sh
# Run one of the service's commands from cron: deploy/cron.sh ENV_FILE... -- COMMAND [ARG...]
# The env files are read as systemd reads them for the units (one NAME=value per line), so a
# cron line uses the same database and keys as the service — never a fresh SQLite file by
# default. Silent when the command succeeds; otherwise it prints the command, its exit code
# and what it printed, so cron mails MAILTO exactly when something needs a person.
#   audit verify: 0 intact · 1 DAMAGED or UNANCHORED (call the inspectors: docs/audit-trail.md)
#                 · 2 could not check (the database, a setting: the line says which)
set -u
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  if [ ! -r "$1" ]; then
    echo "grading cron: cannot read the env file $1 (run as its owner or group)" >&2
    exit 2
  fi
  set -a
  . "$1"
  set +a
  shift
done
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
  echo "usage: deploy/cron.sh ENV_FILE... -- COMMAND [ARG...]" >&2
  exit 2
fi
out=$("$@" 2>&1)
code=$?
if [ "$code" -ne 0 ]; then
  echo "grading cron: \`$*\` exited $code on $(hostname) at $(date '+%F %T %Z'):"
  echo "$out"
fi
exit "$code"
