#!/bin/bash
# Entrypoint of restoreproof-testbed/minio, after the official minio image: `server /data`
# (or any other minio subcommand) runs minio; MINIO_ROOT_USER / MINIO_ROOT_PASSWORD are read
# by minio itself.
set -euo pipefail

case ${1:-} in
  server | -*) set -- minio "$@" ;;
esac

exec "$@"
