#!/bin/bash
# Entrypoint of restoreproof-testbed/redis:7, after the official redis image: arguments that
# start with '-' or name a .conf file go to redis-server, which runs as the redis user in /data
# with protected mode off (the container's port mapping is the access control).
set -euo pipefail

if [[ ${1:-} == -* || ${1:-} == *.conf ]]; then set -- redis-server "$@"; fi

if [[ ${1:-} == redis-server && $(id -u) == 0 ]]; then
  mkdir -p /data
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [[ ${1:-} == redis-server && " $* " != *" --protected-mode "* && ${2:-} != *.conf ]]; then
  set -- "$@" --protected-mode no
fi

exec "$@"
