#!/bin/bash
# Entrypoint of restoreproof-testbed/etcd: arguments that start with '-' go to etcd; otherwise the
# command runs as given (restoreproof's recipe runs a shell that restores a snapshot, then etcd).
set -euo pipefail

if [[ ${1:-} == -* ]]; then set -- etcd "$@"; fi

exec "$@"
