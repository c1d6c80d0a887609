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

build_kubernetes() {
  local v=$K8S_VERSION minor
  minor=${v#v1.}; minor=${minor%%.*}
  local x="-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  x+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  LDFLAGS="-s -w $x" build_go kubernetes "$v" k8s.io/kubernetes \
    kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
    kubelet=k8s.io/kubernetes/cmd/kubelet
}
