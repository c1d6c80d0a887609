# shellcheck shell=bash
# Go-built pieces of the test bed. Sourced by scripts/testbed; needs CACHE set.
# All module versions below are pinned and fetched through the Go module proxy by name.

# FerretDB v1 (MongoDB-compatible server used by the test bed), SQLite handler.
FERRETDB_VERSION=v1.24.2
FERRETDB_COMMIT=cda72d440810406a208c4670aa7047f5bc8d528f
FERRETDB_SUM=h1:trrUU0LbmusMbyubhPS1IELncvrIwKrsRT2LW1UUWCw=
# mongo-tools 100.11.0. The tag is not semver, so Go addresses it by its pseudo-version
# (commit b8a566a7f38f of tag 100.11.0).
MONGOTOOLS_TAG=100.11.0
MONGOTOOLS_VERSION=v0.0.0-20250131183507-b8a566a7f38f
# MinIO server. MinIO's RELEASE.* tags are not semver either; the proxy serves this
# pseudo-version (the last commit of the upstream repository, 2026-02-12).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# Helm 3 (the chart's lint, template and install tests).
HELM_VERSION=v3.22.0

go_env() {
  export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  export GOPATH="$CACHE/go" GOCACHE="$CACHE/go/build-cache" GOMODCACHE="$CACHE/go/pkg/mod"
  mkdir -p "$GOCACHE" "$GOMODCACHE" "$CACHE/bin" "$CACHE/logs"
}

# The checksum database does not answer for every pinned pseudo-version here, so these
# modules are fetched without it; their hashes are pinned instead in the go.sum files
# kept beside this script (scripts/testbed.d/go/<name>.sum), which `go` verifies.
export GONOSUMDB="github.com/mongodb/mongo-tools,github.com/FerretDB/FerretDB,github.com/minio/minio"

# _go_built NAME VERSION SPEC: $CACHE/bin/OUTPUT is there, built from SPEC at VERSION with these
# LDFLAGS. Its own stamp ($CACHE/bin/.OUTPUT.version), or the stamp of an earlier build of NAME
# that made several binaries at once ("VERSION SPEC... LDFLAGS" in $CACHE/bin/.NAME.version).
_go_built() {
  local name=$1 version=$2 spec=$3 out=${3%%=*} group
  [[ -x $CACHE/bin/$out ]] || return 1
  [[ -f $CACHE/bin/.$out.version && $(<"$CACHE/bin/.$out.version") == "$version $spec ${LDFLAGS:-}" ]] && return 0
  [[ -f $CACHE/bin/.$name.version ]] || return 1
  group=$(<"$CACHE/bin/.$name.version")
  [[ $group == "$version "* && $group == *" $spec "* && $group == *" ${LDFLAGS:-}" ]]
}

# build_go NAME VERSION MODULE OUTPUT=PACKAGE... : builds each PACKAGE of MODULE@VERSION into
# $CACHE/bin/OUTPUT from a scratch module under $CACHE/src/NAME, except those a stamp says are
# already built at VERSION: each binary is built once, whichever backend asks for it first
# (kube-apiserver alone, then the kubernetes backend's other three). Logs to $CACHE/logs/NAME.log.
build_go() {
  local name=$1 version=$2 module=$3; shift 3
  local spec missing=()
  for spec in "$@"; do _go_built "$name" "$version" "$spec" || missing+=("$spec"); done
  ((${#missing[@]})) || return 0
  go_env
  local t0=$SECONDS outs=("${missing[@]%%=*}")
  log "building ${outs[*]} ($name $version; log: $CACHE/logs/$name.log)"
  if ! _build_scratch "$name" "$version" "$module" "${missing[@]}" >"$CACHE/logs/$name.log" 2>&1; then
    warn "building $name $version failed; last lines of $CACHE/logs/$name.log:"
    tail -n 20 "$CACHE/logs/$name.log" >&2
    return 1
  fi
  for spec in "${missing[@]}"; do printf '%s\n' "$version $spec ${LDFLAGS:-}" >"$CACHE/bin/.${spec%%=*}.version"; done
  log "built ${outs[*]} ($name $version) in $((SECONDS - t0))s"
}

_build_scratch() (
  set -euo pipefail
  local name=$1 version=$2 module=$3; shift 3
  local dir="$CACHE/src/$name" spec ldflags=${LDFLAGS:-}
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  printf 'module restoreproof.local/testbed-%s\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" >go.mod
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for spec in "$@"; do printf '\t_ "%s"\n' "${spec#*=}"; done
    printf ')\n'
  } >tools.go
  local pinned="$TESTBED_D/go/$name.sum"
  [[ -f $pinned ]] && cp "$pinned" go.sum
  if declare -F "_prepare_$name" >/dev/null; then "_prepare_$name" "$module" "$version"; fi
  go mod tidy
  for spec in "$@"; do
    go build -trimpath -ldflags "$ldflags" -o "$CACHE/bin/${spec%%=*}" "${spec#*=}"
  done
  # Record the hashes the first time so later builds are verified against them.
  [[ -f $pinned ]] || cp go.sum "$CACHE/logs/$name.go.sum"
)

# go_install NAME MODULE VERSION SUM PACKAGE: `go install PACKAGE@VERSION` into $CACHE/bin/NAME,
# unless the stamp says it is already built. The module's own go.mod and go.sum decide and verify
# its dependencies; SUM (the module's h1: hash) is checked first, whether or not the checksum
# database answers. Logs to $CACHE/logs/NAME.log.
go_install() {
  local name=$1 module=$2 version=$3 sum=$4 pkg=$5
  local stamp="$CACHE/bin/.$name.version"
  [[ -x $CACHE/bin/$name && -f $stamp && $(<"$stamp") == "$version ${LDFLAGS:-}" ]] && return 0
  go_env
  local t0=$SECONDS got
  log "building $name $version (log: $CACHE/logs/$name.log)"
  got=$(GONOSUMDB="$module" go mod download -json "$module@$version" 2>>"$CACHE/logs/$name.log" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p')
  if [[ $got != "$sum" ]]; then
    warn "$module@$version has hash '${got:-none}', expected $sum (see $CACHE/logs/$name.log)"
    return 1
  fi
  if ! (cd "$CACHE" && GONOSUMDB="$module" GOBIN="$CACHE/bin/.$name.d" GOFLAGS=-buildvcs=false \
    go install -trimpath -ldflags "${LDFLAGS:-}" "$pkg@$version") >>"$CACHE/logs/$name.log" 2>&1; then
    warn "building $name $version failed; last lines of $CACHE/logs/$name.log:"
    tail -n 20 "$CACHE/logs/$name.log" >&2
    return 1
  fi
  mv "$CACHE/bin/.$name.d/$(basename "$pkg")" "$CACHE/bin/$name" && rmdir "$CACHE/bin/.$name.d"
  printf '%s\n' "$version ${LDFLAGS:-}" >"$stamp"
  log "built $name $version in $((SECONDS - t0))s"
}

# FerretDB's cmd/ferretdb refuses to start without build/version/version.txt, which its
# release process generates (it is not in the module). Build from a copy of the module
# (still fetched through the proxy) with that file added.
_prepare_ferretdb() {
  local module=$1 version=$2 src
  local json sum
  json=$(go mod download -json "$module@$version")
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$json")
  [[ -d $src ]] || { echo "go mod download gave no directory for $module@$version: $json"; return 1; }
  # The replace below takes the module out of go.sum, so its hash is checked here.
  [[ $sum == "$FERRETDB_SUM" ]] || { echo "$module@$version has hash $sum, expected $FERRETDB_SUM"; return 1; }
  cp -r "$src" ferretdb-src
  chmod -R u+w ferretdb-src
  printf '%s\n' "$version" >ferretdb-src/build/version/version.txt
  printf '%s\n' "$FERRETDB_COMMIT" >ferretdb-src/build/version/commit.txt
  printf 'restoreproof-testbed\n' >ferretdb-src/build/version/package.txt
  go mod edit -replace "$module=./ferretdb-src"
}

build_ferretdb() {
  build_go ferretdb "$FERRETDB_VERSION" github.com/FerretDB/FerretDB \
    ferretdb=github.com/FerretDB/FerretDB/cmd/ferretdb
}
build_minio() {
  local c=github.com/minio/minio/cmd t=${MINIO_VERSION#v0.0.0-} ts
  ts=${t%%-*}
  ts="${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
  LDFLAGS="-X $c.Version=$ts -X $c.ReleaseTag=DEVELOPMENT.${ts//:/-} -X $c.CommitID=${t##*-} -X $c.ShortCommitID=${t##*-}" \
    build_go minio "$MINIO_VERSION" github.com/minio/minio minio=github.com/minio/minio
}
build_mongotools() {
  LDFLAGS="-X main.VersionStr=$MONGOTOOLS_TAG -X main.GitCommit=${MONGOTOOLS_VERSION##*-}" \
    build_go mongotools "$MONGOTOOLS_VERSION" github.com/mongodb/mongo-tools \
    mongodump=github.com/mongodb/mongo-tools/mongodump/main \
    mongorestore=github.com/mongodb/mongo-tools/mongorestore/main
}
build_helm() {
  local v=helm.sh/helm/v3/internal/version
  LDFLAGS="-X $v.version=$HELM_VERSION -X $v.gitTreeState=clean" \
    build_go helm "$HELM_VERSION" helm.sh/helm/v3 helm=helm.sh/helm/v3/cmd/helm
}
