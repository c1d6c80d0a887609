#!/usr/bin/env bash
# Builds the harness image (deploy/Dockerfile) from the packed npm package, not the source tree:
#   deploy/build-image.sh [-t TAG] [--base IMAGE] [--tarball restoreproof-<v>.tgz]
# Without --tarball, `npm pack` of this repository (its prepack builds dist/). The tarball and
# node@24 are installed into an empty project (npm, on this machine) which is the build context;
# the build copies that tree, so it needs neither npm nor network inside. DOCKER_HOST as for docker.
set -euo pipefail
deploy="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tag=restoreproof:local base=debian:bookworm-slim tarball=""
while (($#)); do
  case $1 in
    -t | --tag) tag=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --tarball) tarball=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
ctx=$(mktemp -d "${TMPDIR:-/tmp}/restoreproof-image-XXXXXX")
trap 'rm -rf "$ctx"' EXIT
if [[ -z $tarball ]]; then
  (cd "$deploy/.." && npm pack --silent --pack-destination "$ctx" >/dev/null)
  tarball=$(ls "$ctx"/restoreproof-*.tgz)
fi
[[ -f $tarball ]] || { echo "build-image.sh: $tarball does not exist" >&2; exit 2; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
printf '{ "name": "restoreproof-image", "private": true }\n' >"$ctx/package.json"
(cd "$ctx" && npm install --omit=dev --no-audit --no-fund --prefer-offline "$tarball" node@24 >&2)
docker build --build-arg "BASE=$base" -f "$deploy/Dockerfile" -t "$tag" "$ctx"
