#!/bin/bash
# Entrypoint of restoreproof-testbed/mongo: the MongoDB-compatible server used by the test bed
# (FerretDB v1, SQLite handler, data in /data/db) on port 27017, with the real mongodump and
# mongorestore beside it. Extra arguments starting with '-' go to the server.
set -euo pipefail

if [[ $# == 0 || ${1:-} == -* ]]; then set -- ferretdb "$@"; fi

if [[ $1 == ferretdb ]]; then
  shift
  mkdir -p /data/db /data/state
  exec ferretdb --listen-addr=0.0.0.0:27017 --handler=sqlite --sqlite-url=file:/data/db/ \
    --state-dir=/data/state --telemetry=disable --debug-addr=- "$@"
fi

exec "$@"
