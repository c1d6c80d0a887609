#!/bin/bash
# Entrypoint of restoreproof-testbed/node-app: runs the command (default: the sample app,
# node /srv/app/server.ts) as the unprivileged `nobody`, listening on $HOST:$PORT (0.0.0.0:8080).
set -euo pipefail

if [[ $(id -u) == 0 ]]; then
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
fi
exec "$@"
