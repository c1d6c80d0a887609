# shellcheck shell=bash
# Local Docker images of the test bed. Sourced by scripts/testbed; needs CACHE, TESTBED_D,
# DOCKER (a docker CLI command line for our daemon) and the Go-built binaries in $CACHE/bin.
#
# One debootstrap'ed Debian bookworm minbase rootfs (with the Debian packages every image
# needs) is built once and kept as a tarball; each image is that tarball plus its own files
# (entrypoint, Go binaries), loaded with `docker import --change ...`.
# Images carry the label restoreproof.testbed.recipe=<hash of their recipe> and are rebuilt
# only when that hash changes.

IMAGE_NS=restoreproof-testbed
DEBIAN_SUITE=bookworm
# curl: the init container of fetch: pod (kubernetes) downloads with it.
BASE_PACKAGES="postgresql-15 postgresql-client-15 redis-server ca-certificates procps curl"

debian_mirror() {
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -m1 '/debian$' || true)
  [[ -n $m ]] || m=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -m1 '/debian/\?$' || true)
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

base_recipe_hash() {
  { declare -f build_base_rootfs; echo "$DEBIAN_SUITE $BASE_PACKAGES"; } | sha256sum | cut -c1-16
}

# Prints the path of the base rootfs tarball, building it if needed.
build_base_rootfs() {
  local hash tarball dir mirror security
  hash=$(base_recipe_hash)
  tarball="$CACHE/images/rootfs-$DEBIAN_SUITE-$hash.tar"
  if [[ -s $tarball ]]; then printf '%s\n' "$tarball"; return 0; fi
  mirror=$(debian_mirror)
  security=${mirror%/debian}/debian-security
  dir="$CACHE/images/rootfs-work"
  mkdir -p "$CACHE/images" "$CACHE/logs"
  local t0=$SECONDS logf="$CACHE/logs/rootfs.log"
  log "building base rootfs ($DEBIAN_SUITE minbase from $mirror; log: $logf)" >&2
  (
    set -euo pipefail
    umount_chroot "$dir"
    rm -rf "$dir"
    debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$dir" "$mirror"
    cat >"$dir/etc/apt/sources.list" <<SRC
deb $mirror $DEBIAN_SUITE main
deb $mirror $DEBIAN_SUITE-updates main
deb $security $DEBIAN_SUITE-security main
SRC
    # No service may start inside the chroot, and postgres must not create a cluster:
    # the image's entrypoint does initdb at container start.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
    mkdir -p "$dir/etc/postgresql-common/createcluster.d"
    echo 'create_main_cluster = false' >"$dir/etc/postgresql-common/createcluster.d/restoreproof.conf"
    mount -t proc proc "$dir/proc"
    trap 'umount_chroot "$dir"' EXIT
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $BASE_PACKAGES
    chroot "$dir" apt-get clean
    umount_chroot "$dir"; trap - EXIT
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir/usr/sbin/policy-rc.d" \
      "$dir"/var/log/*.log "$dir"/tmp/* "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/locale"
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  ) >"$logf" 2>&1 || { warn "base rootfs failed; last lines of $logf:"; tail -n 20 "$logf" >&2; return 1; }
  log "built base rootfs in $((SECONDS - t0))s ($(du -h "$tarball" | cut -f1))" >&2
  printf '%s\n' "$tarball"
}

# The mariadb image: Debian's MariaDB in a rootfs of its own, layered on the base tarball, so the
# base (and every other image) does not change. Cached by the hash of the base and this recipe.
MARIADB_MINOR=10.11
MARIADB_PACKAGES="mariadb-server mariadb-client mariadb-backup"
build_mariadb_rootfs() {
  local base=$1 hash tarball dir
  hash=$({ basename "$base"; declare -f build_mariadb_rootfs; echo "$MARIADB_PACKAGES"; } | sha256sum | cut -c1-16)
  tarball="$CACHE/images/rootfs-mariadb-$hash.tar"
  if [[ -s $tarball ]]; then printf '%s\n' "$tarball"; return 0; fi
  dir="$CACHE/images/rootfs-mariadb-work"
  local t0=$SECONDS logf="$CACHE/logs/rootfs-mariadb.log"
  log "building the mariadb rootfs (base + $MARIADB_PACKAGES; log: $logf)" >&2
  (
    set -euo pipefail
    umount_chroot "$dir"
    rm -rf "$dir"; mkdir -p "$dir"
    tar --numeric-owner -C "$dir" -xf "$base"
    # No service may start inside the chroot (the package's postinst would start mariadbd).
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    mount -t proc proc "$dir/proc"
    trap 'umount_chroot "$dir"' EXIT
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $MARIADB_PACKAGES
    chroot "$dir" apt-get clean
    umount_chroot "$dir"; trap - EXIT
    # The entrypoint makes the data dir on first start; Debian's is the system server's.
    rm -rf "$dir"/var/lib/mysql/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir/usr/sbin/policy-rc.d" \
      "$dir"/var/log/*.log "$dir"/tmp/* "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/locale"
    : >"$dir/etc/resolv.conf"
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  ) >"$logf" 2>&1 || { warn "mariadb rootfs failed; last lines of $logf:"; tail -n 20 "$logf" >&2; return 1; }
  log "built the mariadb rootfs in $((SECONDS - t0))s ($(du -h "$tarball" | cut -f1))" >&2
  printf '%s\n' "$tarball"
}

umount_chroot() {
  local dir=$1
  if mountpoint -q "$dir/proc" 2>/dev/null; then umount "$dir/proc" || umount -l "$dir/proc"; fi
}

# base: the rootfs alone, for images built FROM it where no registry is reachable (deploy/Dockerfile).
IMAGE_NAMES=(postgres redis minio mongo influxdb etcd mariadb app base)

# The app image: the project's own Node (the npm `node` package) and the sample app under
# /srv/app, with the modules it imports under /srv/node_modules (so an app copied into
# /srv/app at start, spec.app.cwd on the containers runtime, finds them too).
APP_NODE=$REPO/node_modules/node/bin/node
APP_NODE_MODULES="pg pg-connection-string pg-pool pg-protocol pg-types pg-int8 postgres-array postgres-bytea postgres-date postgres-interval xtend pgpass split2"
# InfluxDB 1.x major.minor of the host's influxd (the image carries that binary).
influx_minor() { /usr/bin/influxd version 2>/dev/null | sed -nE 's/^InfluxDB v([0-9]+\.[0-9]+).*/\1/p'; }
# etcd major.minor of the host's etcd (the image carries that binary).
etcd_minor() { /usr/bin/etcd --version 2>/dev/null | sed -nE 's/^etcd Version: ([0-9]+\.[0-9]+).*/\1/p'; }
node_major() { "$APP_NODE" -p 'process.versions.node.split(".")[0]'; }

image_ref() {
  case $1 in
    postgres) echo "$IMAGE_NS/postgres:$PG_MAJOR" ;;
    redis) echo "$IMAGE_NS/redis:7" ;;
    minio) local v=${MINIO_VERSION#v0.0.0-}; echo "$IMAGE_NS/minio:${v:0:8}-${v##*-}" ;;
    mongo) echo "$IMAGE_NS/mongo:ferretdb-$(cut -d. -f1,2 <<<"${FERRETDB_VERSION#v}")" ;;
    influxdb) echo "$IMAGE_NS/influxdb:$(influx_minor)" ;;
    etcd) echo "$IMAGE_NS/etcd:$(etcd_minor)" ;;
    mariadb) echo "$IMAGE_NS/mariadb:$MARIADB_MINOR" ;;
    app) echo "$IMAGE_NS/node-app:$(node_major)" ;;
    base) echo "$IMAGE_NS/base:$DEBIAN_SUITE" ;;
  esac
}

# The `docker import --change` lines of each image, one a line.
image_changes() {
  local std='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  case $1 in
    postgres) cat <<CH
ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:${std#PATH=}
ENV LANG=C.UTF-8
ENV PG_MAJOR=$PG_MAJOR
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
EXPOSE 5432
CH
    ;;
    redis) cat <<CH
ENV $std
ENV LANG=C.UTF-8
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
EXPOSE 6379
CH
    ;;
    minio) cat <<CH
ENV $std
ENV LANG=C.UTF-8
ENV MINIO_UPDATE=off
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["minio", "server", "/data", "--address", ":9000", "--console-address", ":9001"]
EXPOSE 9000 9001
CH
    ;;
    mongo) cat <<CH
ENV $std
ENV LANG=C.UTF-8
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["ferretdb"]
EXPOSE 27017
CH
    ;;
    influxdb) cat <<CH
ENV $std
ENV LANG=C.UTF-8
WORKDIR /var/lib/influxdb
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["influxd"]
EXPOSE 8086
CH
    ;;
    etcd) cat <<CH
ENV $std
ENV LANG=C.UTF-8
ENV ETCDCTL_API=3
WORKDIR /tmp
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["etcd"]
EXPOSE 2379 2380
CH
    ;;
    mariadb) cat <<CH
ENV $std
ENV LANG=C.UTF-8
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
EXPOSE 3306
CH
    ;;
    app) cat <<CH
ENV $std
ENV LANG=C.UTF-8
ENV HOST=0.0.0.0
ENV PORT=8080
WORKDIR /srv/app
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node", "/srv/app/server.ts"]
EXPOSE 8080
CH
    ;;
    base) cat <<CH
ENV $std
ENV LANG=C.UTF-8
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["bash"]
CH
    ;;
  esac
}

# Files of the repository an image carries, "<source> <path in the image>" a line (a source may be a directory).
image_files() {
  local m
  case $1 in
    influxdb)
      # Debian's influxdb package on the host (the influxdb backend): static but for libc, which the base has.
      echo "/usr/bin/influxd usr/bin/influxd"
      echo "/usr/bin/influx usr/bin/influx"
      ;;
    etcd)
      # Debian's etcd-server and etcd-client on the host (the etcd backend): Go binaries needing only libc.
      echo "/usr/bin/etcd usr/bin/etcd"
      echo "/usr/bin/etcdctl usr/bin/etcdctl"
      ;;
    app)
      echo "$APP_NODE usr/local/bin/node"
      echo "$REPO/test/fixtures/app/server.ts srv/app/server.ts"
      for m in $APP_NODE_MODULES; do echo "$REPO/node_modules/$m srv/node_modules/$m"; done
      ;;
  esac
}

image_binaries() {
  case $1 in
    minio) echo minio ;;
    mongo) echo ferretdb mongodump mongorestore ;;
  esac
}

image_recipe_hash() {
  local name=$1 base=$2 b
  {
    basename "$base"
    image_changes "$name"
    cat "$TESTBED_D/image/$name-entrypoint.sh"
    declare -f build_image
    for b in $(image_binaries "$name"); do echo "$b"; sha256sum <"$CACHE/bin/$b"; done
    local src dst
    while read -r src dst; do
      echo "$dst"
      if [[ -d $src ]]; then (cd "$src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); else sha256sum <"$src"; fi
    done < <(image_files "$name")
  } | sha256sum | cut -c1-16
}

build_image() {
  local name=$1 base=$2 ref hash have work tarball
  ref=$(image_ref "$name")
  hash=$(image_recipe_hash "$name" "$base")
  have=$(docker_cli image inspect -f '{{index .Config.Labels "restoreproof.testbed.recipe"}}' "$ref" 2>/dev/null || true)
  [[ $have == "$hash" ]] && return 0
  local t0=$SECONDS
  log "building image $ref (recipe $hash)"
  work="$CACHE/images/$name-overlay"
  tarball="$CACHE/images/$name.tar"
  rm -rf "$work"; mkdir -p "$work/usr/local/bin"
  install -m 0755 "$TESTBED_D/image/$name-entrypoint.sh" "$work/usr/local/bin/docker-entrypoint.sh"
  local b
  for b in $(image_binaries "$name"); do install -m 0755 "$CACHE/bin/$b" "$work/usr/local/bin/$b"; done
  local src dst
  while read -r src dst; do
    [[ -e $src ]] || { warn "image $ref: $src is missing (run npm ci)"; return 1; }
    mkdir -p "$(dirname "$work/$dst")"
    cp -a "$src" "$work/$dst"
  done < <(image_files "$name")
  case $name in
    redis | minio) mkdir -p "$work/data" ;;
    mongo) mkdir -p "$work/data/db" "$work/data/state" ;;
    mariadb) mkdir -p "$work/docker-entrypoint-initdb.d" ;;
    postgres) mkdir -p "$work/docker-entrypoint-initdb.d" "$work/var/lib/postgresql/data" ;;
  esac
  # docker import rejects duplicate paths, so only paths the base lacks are appended.
  [[ -s $base.list ]] || tar -tf "$base" | sed -e 's|^\./||' -e 's|/$||' | sort -u >"$base.list"
  local add
  add=$(cd "$work" && find . -mindepth 1 | sed 's|^\./||' | sort | comm -23 - "$base.list")
  cp "$base" "$tarball"
  (cd "$work" && printf '%s\n' "$add" | sed 's|^|./|' |
    tar --numeric-owner --owner=0 --group=0 --no-recursion -rf "$tarball" -T -)
  local changes=() line
  while IFS= read -r line; do changes+=(--change "$line"); done < <(image_changes "$name")
  changes+=(--change "LABEL restoreproof.testbed.recipe=$hash")
  local out
  if ! out=$(docker_cli import "${changes[@]}" -m "restoreproof test bed $name" "$tarball" "$ref" 2>&1); then
    warn "docker import of $ref failed: $out"; rm -f "$tarball"; return 1
  fi
  rm -rf "$tarball" "$work"
  log "built image $ref in $((SECONDS - t0))s"
}

build_images() {
  local base name layered
  base=$(build_base_rootfs) || return 1
  for name in "${IMAGE_NAMES[@]}"; do
    if [[ $name == mariadb ]]; then
      layered=$(build_mariadb_rootfs "$base") || return 1
      build_image "$name" "$layered" || return 1
    else
      build_image "$name" "$base" || return 1
    fi
  done
  # Dangling images of older recipes.
  docker_cli image prune -f --filter "label=restoreproof.testbed.recipe" >/dev/null 2>&1 || true
}
