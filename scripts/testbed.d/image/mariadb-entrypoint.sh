#!/bin/bash
# Entrypoint of restoreproof-testbed/mariadb, after the official mariadb image: arguments that
# start with '-' go to mariadbd; on an empty /var/lib/mysql it runs mariadb-install-db (root only
# through the socket) and has the server run /docker-entrypoint-initdb.d/*.sql at its first start
# (--init-file), as the official image does with its temporary server. MARIADB_ROOT_PASSWORD_HASH
# sets root's password; the other MARIADB_* variables of the official image are not read.
set -euo pipefail

if [[ ${1:-} == -* ]]; then set -- mariadbd "$@"; fi

if [[ ${1:-} == mariadbd || ${1:-} == mysqld ]]; then
  mkdir -p /run/mysqld /var/lib/mysql
  chown mysql:mysql /run/mysqld /var/lib/mysql
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=socket >/dev/null
    init=/run/mysqld/init.sql
    : >"$init"
    if [[ -n ${MARIADB_ROOT_PASSWORD_HASH:-} ]]; then
      echo "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING '${MARIADB_ROOT_PASSWORD_HASH}' OR unix_socket;" >>"$init"
    fi
    for f in /docker-entrypoint-initdb.d/*.sql; do
      if [[ -f $f ]]; then cat "$f" >>"$init"; echo >>"$init"; fi
    done
    chown mysql:mysql "$init"; chmod 0600 "$init"
    set -- "$@" "--init-file=$init"
  fi
  # mariadbd started as root must be told its account.
  if [[ $(id -u) == 0 ]]; then set -- "$@" --user=mysql; fi
fi

exec "$@"
