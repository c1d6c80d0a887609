# shellcheck shell=bash
# The test bed's own Docker engine: Debian's docker.io dockerd with its own data root, exec
# root, pidfile and unix socket, so it never touches a system Docker. Sourced by
# scripts/testbed; needs CACHE and RUN.

DOCKER_SOCK="$RUN/docker.sock"
DOCKER_HOST_URL="unix://$DOCKER_SOCK"
DOCKERD_PIDFILE="$RUN/dockerd.pid"
DOCKERD_LOG="$RUN/dockerd.log"
# Set when dockerd cannot run on this machine; recorded in env.json as unavailable.docker.
DOCKERD_ERROR=""

docker_cli() { DOCKER_HOST="$DOCKER_HOST_URL" docker "$@"; }

dockerd_running() {
  [[ -f $DOCKERD_PIDFILE ]] && kill -0 "$(cat "$DOCKERD_PIDFILE")" 2>/dev/null &&
    docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_dockerd() {
  if dockerd_running; then
    log "dockerd already running (pid $(cat "$DOCKERD_PIDFILE"))"
    return 0
  fi
  if ! command -v dockerd >/dev/null; then
    warn "docker: dockerd is not installed"; DOCKERD_ERROR="dockerd is not installed"; return 1
  fi
  mkdir -p "$RUN" "$CACHE/docker"
  # A stale pidfile from a killed daemon would stop dockerd from starting.
  rm -f "$DOCKERD_PIDFILE"
  # The network store only holds the default networks and leftover run networks; a daemon stopped
  # while run networks were in use has left it in a state dockerd panics on at start (seen here).
  # The test bed keeps no networks across daemons, so it starts without one.
  rm -f "$CACHE/docker/network/files/local-kv.db"
  log "starting dockerd ($DOCKER_HOST_URL, log $DOCKERD_LOG)"
  # setsid: the daemon must outlive this script, in a process group of its own; it must not
  # inherit fd 9, the lock of `scripts/testbed up`.
  setsid dockerd \
    --data-root "$CACHE/docker" \
    --exec-root "$RUN/exec" \
    --pidfile "$DOCKERD_PIDFILE" \
    -H "$DOCKER_HOST_URL" \
    --containerd-namespace restoreproof-testbed \
    --containerd-plugins-namespace restoreproof-testbed-plugins \
    --userland-proxy=true \
    </dev/null >"$DOCKERD_LOG" 2>&1 9>&- &
  local pid=$! i
  for ((i = 0; i < 120; i++)); do
    if docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      log "dockerd is up (pid $pid, $(docker_cli version --format '{{.Server.Version}}'))"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  warn "docker: dockerd did not start on this machine; the docker backend is left out. Its last log lines:"
  tail -n 15 "$DOCKERD_LOG" >&2 || true
  DOCKERD_ERROR=$(grep -v 'level=' "$DOCKERD_LOG" | tail -n 1)
  [[ -n $DOCKERD_ERROR ]] || DOCKERD_ERROR=$(tail -n 1 "$DOCKERD_LOG")
  DOCKERD_ERROR="dockerd did not start: ${DOCKERD_ERROR:-no output}"
  kill "$pid" 2>/dev/null || true
  return 1
}

stop_dockerd() {
  local pid=""
  [[ -f $DOCKERD_PIDFILE ]] && pid=$(cat "$DOCKERD_PIDFILE")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    # Containers of test runs that were not cleaned up.
    local ids
    ids=$(docker_cli ps -aq --filter label=restoreproof.run 2>/dev/null || true)
    if [[ -n $ids ]]; then
      log "removing leftover test containers: ${ids//$'\n'/ }"
      # shellcheck disable=SC2086
      docker_cli rm -f $ids >/dev/null 2>&1 || true
    fi
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then warn "dockerd did not stop in 30s; killing it"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$DOCKERD_PIDFILE"
  # Anything still running from our exec root (managed containerd, shims) is ours.
  local p left=()
  for p in $(pgrep -f -- "$RUN/exec" || true) $(pgrep -f -- "$RUN/docker.sock" || true); do
    [[ $p == "$$" ]] || left+=("$p")
  done
  if ((${#left[@]})); then
    log "killing leftover engine processes: ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null || true
    sleep 1
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
  # Mounts dockerd leaves under its roots when killed.
  local m
  for m in $(awk -v a="$RUN/exec" -v b="$CACHE/docker" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# Prints the docker backend's JSON for env.json, after proving that a container runs.
verify_docker() {
  local name ref out
  for name in "${IMAGE_NAMES[@]}"; do
    ref=$(image_ref "$name")
    docker_cli image inspect "$ref" >/dev/null 2>&1 || { warn "docker: image $ref missing"; return 1; }
  done
  if ! out=$(docker_cli run --rm --label restoreproof.run=testbed-verify --entrypoint redis-server \
    "$(image_ref redis)" --version 2>&1); then
    warn "docker: cannot run a container: $out"; return 1
  fi
  # shellcheck disable=SC2046 # image names and refs have no spaces
  node -e '
    const [host, ...kv] = process.argv.slice(1); const images = {};
    for (let i = 0; i < kv.length; i += 2) images[kv[i]] = kv[i + 1];
    process.stdout.write(JSON.stringify({ host, images }));' -- "$DOCKER_HOST_URL" \
    $(for name in "${IMAGE_NAMES[@]}"; do printf '%s %s ' "$name" "$(image_ref "$name")"; done)
}
