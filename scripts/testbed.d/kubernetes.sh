# shellcheck shell=bash
# A real single-node Kubernetes for the `kubernetes` backend. Sourced by scripts/testbed;
# needs CACHE, RUN, TESTBED_D and the helpers of gobuild.sh.
#
# Control plane and kubelet are built from k8s.io/kubernetes through the Go module proxy in a
# scratch module whose `replace` directives map each k8s.io staging module to its published
# version of the same release (v1.34.2 -> v0.34.2). etcd, containerd, the CNI plugins and
# kubectl come from Debian.

# v1.34: builds with Go 1.26 and still supports cgroup v1 hosts (1.35 refuses them unless
# failCgroupV1 is switched off) and containerd 1.6 (Debian's, from docker.io).
K8S_VERSION=v1.34.2
K8S_STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)

_prepare_kubernetes() {
  local version=$2 staging="v0.${2#v1.}" m
  for m in "${K8S_STAGING[@]}"; do
    go mod edit -replace "k8s.io/$m=k8s.io/$m@$staging"
  done
}

# _build_k8s OUTPUT...: those binaries of cmd/ at K8S_VERSION (each built once; see build_go).
_build_k8s() {
  local v=$K8S_VERSION minor b specs=()
  minor=${v#v1.}; minor=${minor%%.*}
  local x="-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  x+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for b in "$@"; do specs+=("$b=k8s.io/kubernetes/cmd/$b"); done
  LDFLAGS="-s -w $x" build_go kubernetes "$v" k8s.io/kubernetes "${specs[@]}"
}
build_kubernetes() { _build_k8s kube-apiserver kube-controller-manager kube-scheduler kubelet; }
# The kube-apiserver backend: the API server alone (the etcd reference drill starts it on its own
# etcd and on restored snapshots), without a cluster. The kubernetes backend reuses this binary.
build_kube_apiserver() { _build_k8s kube-apiserver; }

verify_kube_apiserver() {
  local v
  v=$("$CACHE/bin/kube-apiserver" --version 2>/dev/null | sed -nE 's/^Kubernetes (v[0-9.]+).*/\1/p')
  [[ $v == "$K8S_VERSION" ]] || { warn "kube-apiserver: $CACHE/bin/kube-apiserver --version says '$v', expected $K8S_VERSION"; return 1; }
  json_obj server "$CACHE/bin/kube-apiserver" version "$v"
}

# kube-router, firewall only: the test bed's NetworkPolicy enforcer (the CNI bridge alone enforces
# nothing, so the policies restoreproof creates would go untested). Test bed only: security flaws
# are reported for this version; it is pinned here and never shipped or recommended (docs/testbed.md).
# Built with `go install` so its own go.mod and go.sum choose and verify every dependency; the
# module's hash is pinned below as well.
KUBE_ROUTER_VERSION=v2.1.0
KUBE_ROUTER_SUM=h1:xWsptKtmZ44L+NjwFKoFAFlVdxCz8fka9A/eYJe95Ok=
build_kube_router() {
  local m=github.com/cloudnativelabs/kube-router/v2
  LDFLAGS="-s -w -X $m/pkg/version.Version=$KUBE_ROUTER_VERSION -X $m/pkg/version.BuildDate=1970-01-01T00:00:00Z" \
    go_install kube-router "$m" "$KUBE_ROUTER_VERSION" "$KUBE_ROUTER_SUM" "$m/cmd/kube-router"
}

# ---------------------------------------------------------------- the single-node cluster
# Everything lives under $CACHE/k8s (certificates, etcd data, containerd's root with the
# imported images, kubelet root) and $RUN/k8s (sockets, pidfiles, logs, containerd state).
# Loopback ports: etcd 23790/23800 (plain HTTP, loopback only), API server 16443. The kubelet
# listens on the node IP (10350), where the API server reaches it for exec and port-forward.
K8S_DIR="$CACHE/k8s"
K8S_RUN="$RUN/k8s"
K8S_API_PORT=16443
K8S_ETCD_PORT=23790
K8S_KUBELET_PORT=10350
K8S_NODE=restoreproof-testbed
K8S_POD_CIDR=10.213.0.0/16
K8S_SERVICE_CIDR=10.214.0.0/16
K8S_PAUSE_IMAGE=restoreproof-testbed/pause:3.10
K8S_KUBECONFIG="$K8S_DIR/admin.kubeconfig"
K8S_BRIDGE=rptb-k8s0
K8S_PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-router)

k8s_node_ip() { ip -4 route get 1.1.1.1 2>/dev/null | sed -nE 's/.* src ([0-9.]+).*/\1/p' | head -n1; }

# _k8s_cert NAME CN O [SANS]: a key and a certificate signed by the test bed's cluster CA.
_k8s_cert() {
  local name=$1 cn=$2 o=$3 sans=${4:-} pki="$K8S_DIR/pki"
  [[ -s $pki/$name.crt && -s $pki/$name.key ]] && openssl x509 -checkend 86400 -noout -in "$pki/$name.crt" >/dev/null 2>&1 && return 0
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "/CN=$cn${o:+/O=$o}" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $sans ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"; else echo "extendedKeyUsage=clientAuth"; fi
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 -sha256 \
    -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

_k8s_kubeconfig() {
  local file=$1 user=$2 pki="$K8S_DIR/pki"
  cat >"$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: restoreproof-testbed
  cluster:
    server: https://127.0.0.1:$K8S_API_PORT
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$pki/$user.crt")
    client-key-data: $(base64 -w0 "$pki/$user.key")
contexts:
- name: restoreproof-testbed
  context: { cluster: restoreproof-testbed, user: $user }
current-context: restoreproof-testbed
KCFG
  chmod 600 "$file"
}

# Certificates (openssl, CA kept in the cache) and kubeconfigs; reused while valid.
k8s_pki() {
  local pki="$K8S_DIR/pki" ip
  ip=$(k8s_node_ip)
  mkdir -p "$pki"; chmod 700 "$pki"
  if [[ ! -s $pki/ca.crt ]]; then
    openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=restoreproof-testbed-ca" -days 3650 -sha256 -out "$pki/ca.crt" 2>/dev/null
  fi
  [[ -s $pki/sa.key ]] || { openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null && openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null; }
  _k8s_cert apiserver kube-apiserver "" "IP:127.0.0.1,IP:${K8S_SERVICE_CIDR%.0/16}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  _k8s_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  _k8s_cert admin restoreproof-admin system:masters
  _k8s_cert controller-manager system:kube-controller-manager ""
  _k8s_cert scheduler system:kube-scheduler ""
  _k8s_cert kubelet "system:node:$K8S_NODE" system:nodes
  _k8s_kubeconfig "$K8S_DIR/admin.kubeconfig" admin
  _k8s_kubeconfig "$K8S_DIR/controller-manager.kubeconfig" controller-manager
  _k8s_kubeconfig "$K8S_DIR/scheduler.kubeconfig" scheduler
  _k8s_kubeconfig "$K8S_DIR/kubelet.kubeconfig" kubelet
  : "$ip"
}

k8s_configs() {
  mkdir -p "$K8S_DIR/cni" "$K8S_RUN" "$K8S_DIR/kubelet" "$K8S_DIR/pod-logs"
  cat >"$K8S_DIR/cni/10-restoreproof.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "restoreproof-testbed",
  "plugins": [
    { "type": "bridge", "bridge": "$K8S_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$K8S_POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$K8S_RUN/cni-ipam" } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
  cat >"$K8S_DIR/containerd.toml" <<TOML
version = 2
root = "$K8S_DIR/containerd"
state = "$K8S_RUN/containerd"
[grpc]
  address = "$K8S_RUN/containerd.sock"
[ttrpc]
  address = "$K8S_RUN/containerd.sock.ttrpc"
[debug]
  address = "$K8S_RUN/containerd-debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_DIR/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$K8S_PAUSE_IMAGE"
  # Machines that drop CAP_SYS_RESOURCE (this one does) refuse the negative oom_score_adj of
  # sandboxes (-998) and Guaranteed pods: "nsexec: failed to update /proc/self/oom_score_adj:
  # Permission denied". Clamp to containerd's own value instead.
  restrict_oom_score_adj = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_DIR/cni"
TOML
  cat >"$K8S_DIR/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
port: $K8S_KUBELET_PORT
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $K8S_DIR/pki/ca.crt }
authorization: { mode: Webhook }
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$K8S_RUN/containerd.sock
failSwapOn: false
podLogsDir: $K8S_DIR/pod-logs
resolvConf: /etc/resolv.conf
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 60
KUBELET
}

_k8s_pid() { local f="$K8S_RUN/$1.pid"; [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
# _k8s_start NAME BINARY ARGS...: starts one component in its own session, logging to $K8S_RUN/NAME.log.
# etcd 3.4.23 (bookworm) lacks the progress notifications client-go's streaming lists (WatchListClient,
# on by default since 1.34) need; without this the controller-manager's informers stall after an
# API server restart (no ServiceAccount in new namespaces).
_k8s_start() {
  local name=$1; shift
  _k8s_pid "$name" >/dev/null && return 0
  # 9>&-: not holding scripts/testbed's lock (fd 9) for as long as the component runs.
  KUBE_FEATURE_WatchListClient=false setsid "$@" >>"$K8S_RUN/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$K8S_RUN/$name.pid"
}

# _k8s_api METHOD PATH [BODY]: the API as the admin (curl with the admin client certificate).
_k8s_api() {
  local pki="$K8S_DIR/pki"
  curl -sS --max-time 10 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "https://127.0.0.1:$K8S_API_PORT$2"
}

_k8s_wait() { # _k8s_wait SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { warn "kubernetes: $what did not happen within ${deadline}s"; return 1; }
    sleep 0.5
  done
}

# Pause image (the sandbox every pod holds): a static binary built here, imported next to the
# store images.
build_pause() {
  local src="$CACHE/src/pause" out="$CACHE/bin/pause"
  [[ -x $out ]] && return 0
  go_env
  mkdir -p "$src"
  cat >"$src/main.go" <<'GO'
// pause: holds a pod's namespaces; reaps children and exits on SIGINT/SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s == syscall.SIGCHLD {
			for {
				if pid, _ := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
GO
  printf 'module restoreproof.local/pause\n\ngo 1.24\n' >"$src/go.mod"
  (cd "$src" && go build -trimpath -ldflags '-s -w' -o "$out" .)
}

# Imports the test bed's Docker images (the same rootfs builds) and the pause image into the
# cluster containerd's k8s.io namespace; skipped when the image ids did not change.
k8s_import_images() {
  local images=("$@") ids stamp="$K8S_DIR/.images" tmp
  build_pause || { warn "kubernetes: building the pause binary failed"; return 1; }
  if ! docker_cli image inspect "$K8S_PAUSE_IMAGE" >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    cp "$CACHE/bin/pause" "$tmp/pause"
    tar -C "$tmp" -cf "$tmp/pause.tar" pause
    docker_cli import --change 'ENTRYPOINT ["/pause"]' "$tmp/pause.tar" "$K8S_PAUSE_IMAGE" >/dev/null || { rm -rf "$tmp"; return 1; }
    rm -rf "$tmp"
  fi
  images+=("$K8S_PAUSE_IMAGE")
  ids=$(docker_cli image inspect --format '{{.Id}}' "${images[@]}" | tr '\n' ' ') || return 1
  if [[ -f $stamp && $(<"$stamp") == "$ids" ]] && ctr --address "$K8S_RUN/containerd.sock" -n k8s.io images ls -q | grep -q "docker.io/$K8S_PAUSE_IMAGE"; then
    return 0
  fi
  local t0=$SECONDS
  log "kubernetes: importing ${images[*]} into containerd (k8s.io)"
  docker_cli save "${images[@]}" | ctr --address "$K8S_RUN/containerd.sock" -n k8s.io images import --snapshotter overlayfs - >"$K8S_RUN/import.log" 2>&1 \
    || { warn "kubernetes: image import failed: $(tail -n 3 "$K8S_RUN/import.log")"; return 1; }
  printf '%s' "$ids" >"$stamp"
  log "kubernetes: imported in $((SECONDS - t0))s"
}

# dockerd sets the FORWARD policy to DROP, and with br_netfilter that also drops traffic between
# pods on the cluster's bridge (an app pod reaching a store pod). Accept what enters or leaves it.
k8s_forward_rules() {
  local op=$1 dir
  command -v iptables >/dev/null || return 0
  for dir in -i -o; do
    if [[ $op == add ]]; then
      iptables -C FORWARD "$dir" "$K8S_BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD "$dir" "$K8S_BRIDGE" -j ACCEPT
    else
      while iptables -D FORWARD "$dir" "$K8S_BRIDGE" -j ACCEPT 2>/dev/null; do :; done
    fi
  done
}

start_kubernetes() {
  local ip; ip=$(k8s_node_ip)
  [[ -n $ip ]] || { warn "kubernetes: no node IP (no default route)"; return 1; }
  k8s_pki && k8s_configs || return 1
  k8s_forward_rules add || { warn "kubernetes: cannot add the FORWARD rules for $K8S_BRIDGE"; return 1; }
  local pki="$K8S_DIR/pki" b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
    [[ -x $CACHE/bin/$b ]] || { warn "kubernetes: $CACHE/bin/$b missing"; return 1; }
  done
  _k8s_start etcd /usr/bin/etcd --name restoreproof-testbed --data-dir "$K8S_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" \
    --initial-cluster "restoreproof-testbed=http://127.0.0.1:$((K8S_ETCD_PORT + 10))" --listen-metrics-urls "" \
    --quota-backend-bytes 2147483648 --unsafe-no-fsync
  _k8s_wait 30 "etcd answering" curl -sf "http://127.0.0.1:$K8S_ETCD_PORT/health" || { tail -n 5 "$K8S_RUN/etcd.log" >&2; return 1; }
  _k8s_start kube-apiserver "$CACHE/bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address "$ip" --secure-port "$K8S_API_PORT" \
    --service-cluster-ip-range "$K8S_SERVICE_CIDR" --authorization-mode Node,RBAC \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --endpoint-reconciler-type none --profiling=false \
    --kubelet-preferred-address-types InternalIP,Hostname
  _k8s_wait 90 "the API server ready" _k8s_ready_check || { tail -n 5 "$K8S_RUN/kube-apiserver.log" >&2; return 1; }
  _k8s_start kube-controller-manager "$CACHE/bin/kube-controller-manager" --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" --authorization-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" --profiling=false
  _k8s_start kube-scheduler "$CACHE/bin/kube-scheduler" --kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$K8S_DIR/scheduler.kubeconfig" --authorization-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --profiling=false
  _k8s_start containerd /usr/bin/containerd --config "$K8S_DIR/containerd.toml"
  _k8s_wait 30 "containerd answering" ctr --address "$K8S_RUN/containerd.sock" version || { tail -n 5 "$K8S_RUN/containerd.log" >&2; return 1; }
  _k8s_start_kubelet "$ip" || return 1
  start_kube_router
}

# containerd answers `ctr version` before its CRI service has initialised; a kubelet started in
# between exits at once ("validate CRI v1 runtime API ... server is not initialized yet", seen in a
# clean-clone CI), so it is started again until it stays up for 10 s.
_k8s_start_kubelet() {
  local ip=$1 starts up_since
  for starts in 1 2 3 4 5 6; do
    ((starts == 1)) || warn "kubernetes: the kubelet exited at start (containerd's CRI not ready yet); starting it again"
    _k8s_start kubelet "$CACHE/bin/kubelet" --config "$K8S_DIR/kubelet.yaml" --kubeconfig "$K8S_DIR/kubelet.kubeconfig" \
      --root-dir "$K8S_DIR/kubelet" --hostname-override "$K8S_NODE" --node-ip "$ip"
    up_since=$SECONDS
    while _k8s_pid kubelet >/dev/null; do
      ((SECONDS - up_since < 10)) || return 0
      sleep 1
    done
    sleep 2
  done
  warn "kubernetes: the kubelet keeps exiting at start; see $K8S_RUN/kubelet.log"
  return 1
}

# The NetworkPolicy enforcer, once the kubelet has registered the node (kube-router reads the
# node's address from it). Enforcing when its chains are hooked into FORWARD, ahead of the
# bridge's ACCEPT rules of k8s_forward_rules.
start_kube_router() {
  [[ -x $CACHE/bin/kube-router ]] || { warn "kubernetes: $CACHE/bin/kube-router missing"; return 1; }
  command -v ipset >/dev/null || { warn "kubernetes: ipset missing (kube-router needs it)"; return 1; }
  _k8s_wait 120 "node $K8S_NODE registered" _k8s_node_known || return 1
  _k8s_start kube-router "$CACHE/bin/kube-router" --kubeconfig "$K8S_KUBECONFIG" --hostname-override "$K8S_NODE" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$K8S_SERVICE_CIDR" --metrics-port 0 --health-port 0
  _k8s_wait 60 "kube-router enforcing (KUBE-ROUTER-FORWARD hooked into FORWARD)" _k8s_kube_router_hooked \
    || { tail -n 5 "$K8S_RUN/kube-router.log" >&2; return 1; }
}
_k8s_node_known() { _k8s_api GET "/api/v1/nodes/$K8S_NODE" | grep -q '"kind": *"Node"'; }
_k8s_kube_router_hooked() { _k8s_pid kube-router >/dev/null && iptables -S FORWARD | grep -q -- '-j KUBE-ROUTER-FORWARD'; }

# Stops kube-router and removes its chains and ipsets. Its --cleanup-config (v2.1.0) removes the
# firewall's rules and then panics in the ipvs cleanup (nothing of ipvs is used here): its exit
# status says nothing, so what is left is checked instead.
stop_kube_router() {
  local pid
  pid=$(_k8s_pid kube-router) && { kill "$pid" 2>/dev/null; _k8s_wait 20 "kube-router exit" _k8s_gone "$pid" || kill -9 "$pid" 2>/dev/null; }
  [[ -x $CACHE/bin/kube-router ]] && command -v iptables-save >/dev/null || return 0
  iptables-save -t filter 2>/dev/null | grep -q 'KUBE-ROUTER\|KUBE-NWPLCY\|KUBE-POD-FW' || return 0
  timeout 60 "$CACHE/bin/kube-router" --cleanup-config >>"$K8S_RUN/kube-router-cleanup.log" 2>&1 || true
  if iptables-save -t filter 2>/dev/null | grep -q 'KUBE-ROUTER\|KUBE-NWPLCY\|KUBE-POD-FW'; then
    warn "kubernetes: kube-router --cleanup-config left rules behind (log: $K8S_RUN/kube-router-cleanup.log)"
  fi
}
_k8s_ready_check() { [[ $(_k8s_api GET /readyz) == ok ]]; }

k8s_running() { local p; for p in "${K8S_PROCS[@]}"; do _k8s_pid "$p" >/dev/null || return 1; done; }

# A pod of the pause image must reach Running (scheduled, sandbox and container started by the
# kubelet through containerd's CRI, IP from the CNI bridge); then it is deleted again.
verify_kubernetes() {
  local ns=default pod=restoreproof-testbed-probe phase="" t0=$SECONDS
  _k8s_kube_router_hooked || { warn "kubernetes: the NetworkPolicy enforcer (kube-router) is not running; see $K8S_RUN/kube-router.log"; return 1; }
  _k8s_wait 120 "node $K8S_NODE Ready" _k8s_node_ready || { _k8s_diagnose; return 1; }
  _k8s_wait 60 "service account default/default" _k8s_api_ok "/api/v1/namespaces/$ns/serviceaccounts/default" || return 1
  _k8s_api DELETE "/api/v1/namespaces/$ns/pods/$pod?gracePeriodSeconds=0" >/dev/null || true
  _k8s_wait 60 "old probe pod gone" _k8s_api_gone "/api/v1/namespaces/$ns/pods/$pod" || true
  _k8s_api POST "/api/v1/namespaces/$ns/pods" "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$pod\"},\"spec\":{\"automountServiceAccountToken\":false,\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"probe\",\"image\":\"$K8S_PAUSE_IMAGE\",\"imagePullPolicy\":\"Never\"}]}}" >/dev/null
  while ((SECONDS - t0 < 120)); do
    phase=$(_k8s_api GET "/api/v1/namespaces/$ns/pods/$pod" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const p=JSON.parse(s);const w=(p.status?.containerStatuses??[])[0]?.state?.waiting;process.stdout.write((p.status?.phase??"?")+(w?` (${w.reason}: ${w.message??""})`:""))}catch{process.stdout.write("?")}})')
    [[ $phase == Running ]] && break
    sleep 1
  done
  _k8s_api DELETE "/api/v1/namespaces/$ns/pods/$pod?gracePeriodSeconds=0" >/dev/null || true
  if [[ $phase != Running ]]; then
    warn "kubernetes: the probe pod did not reach Running (last: $phase)"; _k8s_diagnose; return 1
  fi
  # containerd: the node's image store, where tests import images they build (`ctr -n k8s.io images import`).
  json_obj kubeconfig "$K8S_KUBECONFIG" server "https://127.0.0.1:$K8S_API_PORT" context restoreproof-testbed \
    containerdSocket "$K8S_RUN/containerd.sock" \
    version "$K8S_VERSION" node "$K8S_NODE" etcd "$(/usr/bin/etcd --version | sed -nE 's/^etcd Version: //p')" \
    containerd "$(containerd --version | awk '{print $3}')" cni "$(dpkg-query -W -f='${Version}' containernetworking-plugins)" \
    networkPolicy "kube-router $KUBE_ROUTER_VERSION"
}
_k8s_api_ok() { _k8s_api GET "$1" | grep -q '"kind": *"ServiceAccount"'; }
_k8s_api_gone() { _k8s_api GET "$1" | grep -q '"code": *404'; }
_k8s_node_ready() {
  _k8s_api GET "/api/v1/nodes/$K8S_NODE" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const n=JSON.parse(s);process.exit((n.status?.conditions??[]).some(c=>c.type==="Ready"&&c.status==="True")?0:1)})'
}
_k8s_diagnose() {
  local p
  for p in kubelet containerd kube-apiserver; do
    warn "kubernetes: last lines of $K8S_RUN/$p.log:"; grep -E '^E|level=error|rror' "$K8S_RUN/$p.log" 2>/dev/null | tail -n 5 >&2 || true
  done
}

# Stops what start_kubernetes started (by pidfile), the pods' containers first (through our own
# containerd), then unmounts what they left under the cluster's directories.
stop_kubernetes() {
  local p pid sock="$K8S_RUN/containerd.sock" t
  stop_kube_router
  k8s_forward_rules delete
  pid=$(_k8s_pid kubelet) && { kill "$pid" 2>/dev/null; _k8s_wait 20 "kubelet exit" _k8s_gone "$pid" || kill -9 "$pid" 2>/dev/null; }
  if _k8s_pid containerd >/dev/null; then
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 1
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do ctr --address "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true; done
    for t in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do ctr --address "$sock" -n k8s.io containers delete "$t" >/dev/null 2>&1 || true; done
  fi
  for p in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
    pid=$(_k8s_pid "$p") || continue
    kill "$pid" 2>/dev/null || true
    _k8s_wait 20 "$p exit" _k8s_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  done
  # Shims of our containerd outlive it; each wrote its pid into our containerd's state directory.
  local f
  for f in "$K8S_RUN"/containerd/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  local m
  for m in $(awk -v a="$K8S_DIR/" -v b="$K8S_RUN/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -f "$K8S_RUN"/*.pid
}
_k8s_gone() { ! kill -0 "$1" 2>/dev/null; }
