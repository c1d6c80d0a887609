#!/bin/bash
# Entrypoint of restoreproof-testbed/influxdb, after the official influxdb:1.x image: arguments
# that start with '-' go to influxd; configuration comes from INFLUXDB_* variables (influxd reads
# them itself), and the data lives in /var/lib/influxdb.
set -euo pipefail

if [[ ${1:-} == -* ]]; then set -- influxd "$@"; fi

exec "$@"
