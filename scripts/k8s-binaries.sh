#!/usr/bin/env bash
# Provides the local control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) and prints the directory holding them as the last line of stdout.
# It also builds kube-state-metrics (for the alert-chain test) into its own cache directory;
# with --kube-state-metrics it handles only that one and prints its directory instead.
#
# Order of preference:
#   1. KUBEBUILDER_ASSETS, when it holds etcd and kube-apiserver (envtest layout);
#   2. a cache under ~/.cache/k8s-healer (or K8S_HEALER_CACHE) keyed by the pinned versions;
#   3. a build from the Go module proxy into that cache (slow when cold: progress goes to stderr).
# With --no-build it never builds: it exits 4 when something is missing (tests use this to skip).
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with ./staging),
# so we generate a wrapper module that requires it and replaces every staging module with its
# published v0.X.Y. etcd's server module has replace directives too, so it gets the same wrapper.
set -euo pipefail

# `--aws-iam-authenticator [--no-build]`: only the EKS token verifier (test/integration/eks-verifier.test.ts),
# built like kwok with `go install`, into its own versioned cache directory, printed last.
if [ "${1:-}" = "--aws-iam-authenticator" ]; then
  AIA_VERSION="${AWS_IAM_AUTHENTICATOR_VERSION:-0.6.13}"
  AIA_OUT="${K8S_HEALER_CACHE:-$HOME/.cache/k8s-healer}/bin/aws-iam-authenticator-v$AIA_VERSION"
  if [ ! -x "$AIA_OUT/aws-iam-authenticator" ]; then
    if [ "${2:-}" = "--no-build" ]; then echo "[k8s-binaries] missing $AIA_OUT/aws-iam-authenticator (run: bash scripts/k8s-binaries.sh --aws-iam-authenticator)" >&2; exit 4; fi
    command -v go >/dev/null 2>&1 || { echo "[k8s-binaries] ERROR: Go >= 1.24 is needed to build aws-iam-authenticator" >&2; exit 3; }
    mkdir -p "$AIA_OUT"
    echo "[k8s-binaries] compiling aws-iam-authenticator v$AIA_VERSION" >&2
    CGO_ENABLED=0 GOBIN="$AIA_OUT" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator@v$AIA_VERSION" >&2
  fi
  echo "$AIA_OUT"
  exit 0
fi

NO_BUILD=0
ONLY_KSM=0
ONLY_KUBECTL=0
for arg in "$@"; do
  case "$arg" in
    --no-build) NO_BUILD=1 ;;
    --kube-state-metrics) ONLY_KSM=1 ;;
    --kubectl) ONLY_KUBECTL=1 ;;
    *) echo "usage: k8s-binaries.sh [--no-build] [--kube-state-metrics | --kubectl]" >&2; exit 2 ;;
  esac
done

K8S_VERSION="${K8S_VERSION:-1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
KSM_VERSION="${KSM_VERSION:-2.20.0}"
CACHE_ROOT="${K8S_HEALER_CACHE:-$HOME/.cache/k8s-healer}"
OUT="$CACHE_ROOT/bin/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION-kwok-v$KWOK_VERSION"
# Its own directory: adding it does not invalidate the control plane's cache key.
KSM_OUT="$CACHE_ROOT/bin/kube-state-metrics-v$KSM_VERSION"
# kubectl (a baseline of the scan benchmark, and HolmesGPT's Kubernetes toolset): same version as
# the control plane, its own directory, built only with --kubectl (npm test does not need it).
KUBECTL_OUT="$CACHE_ROOT/bin/kubectl-v$K8S_VERSION"

log() { printf '[k8s-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# kube-state-metrics has no replace directives: a plain `go install` of the release builds it
# (about 2 minutes cold on 2 cores). Returns 4 when missing under --no-build, 3 without Go.
ensure_ksm() {
  [ -x "$KSM_OUT/kube-state-metrics" ] && return 0
  if [ "$NO_BUILD" = 1 ]; then
    log "missing kube-state-metrics in $KSM_OUT (run: bash scripts/k8s-binaries.sh)"
    return 4
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "ERROR: missing kube-state-metrics and no Go toolchain to build it (install Go >= 1.26)"
    return 3
  fi
  local t0 tmp
  t0=$(date +%s)
  log "compiling kube-state-metrics v$KSM_VERSION"
  # Into a temporary directory first, so an interrupted build never leaves a half-written binary.
  tmp="$(mktemp -d "$CACHE_ROOT/bin/.ksm-build.XXXXXX")"
  # Compiling prints nothing for a while; a heartbeat shows it is alive.
  (while sleep 60; do log "... still building kube-state-metrics ($(( $(date +%s) - t0 ))s elapsed)"; done) &
  local hb=$!
  local ok=1
  CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$tmp" go install -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=v$KSM_VERSION" \
      "k8s.io/kube-state-metrics/v2@v$KSM_VERSION" >&2 || ok=0
  kill "$hb" 2>/dev/null || true
  if [ "$ok" = 0 ]; then
    rm -rf "$tmp"
    log "ERROR: building kube-state-metrics v$KSM_VERSION failed"
    return 1
  fi
  mkdir -p "$KSM_OUT"
  mv "$tmp/kube-state-metrics" "$KSM_OUT/kube-state-metrics"
  rm -rf "$tmp"
  log "kube-state-metrics v$KSM_VERSION built in $(( $(date +%s) - t0 ))s: $KSM_OUT"
}

mkdir -p "$CACHE_ROOT/bin"
if [ "$ONLY_KSM" = 1 ]; then
  ensure_ksm
  echo "$KSM_OUT"
  exit 0
fi
if [ "$ONLY_KUBECTL" = 1 ]; then
  [ -x "$KUBECTL_OUT/kubectl" ] && { echo "$KUBECTL_OUT"; exit 0; }
  [ "$NO_BUILD" = 1 ] && { log "missing kubectl in $KUBECTL_OUT (run: bash scripts/k8s-binaries.sh --kubectl)"; exit 4; }
fi
# The full set-up (npm test, .ci/run) builds it too; --no-build, which the control-plane tests
# use to find their binaries, does not need it.
if [ "$NO_BUILD" = 0 ] && [ "$ONLY_KUBECTL" = 0 ]; then
  ensure_ksm
fi

if [ "$ONLY_KUBECTL" = 0 ] && [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

need=()
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  [ -x "$OUT/$b" ] || need+=("$b")
done
[ "$ONLY_KUBECTL" = 1 ] && need=(kubectl)
if [ ${#need[@]} -eq 0 ]; then
  log "cached in $OUT"
  echo "$OUT"
  exit 0
fi

if [ "$NO_BUILD" = 1 ]; then
  log "missing ${need[*]} in $OUT (run: bash scripts/k8s-binaries.sh)"
  exit 4
fi

if ! command -v go >/dev/null 2>&1; then
  log "ERROR: missing ${need[*]} and no Go toolchain to build them."
  log "Provide one of: KUBEBUILDER_ASSETS=<dir with etcd and kube-apiserver>, TEST_KUBECONFIG=<existing cluster>, or install Go >= 1.24."
  exit 3
fi

mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/k8s-healer-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod
started=$(date +%s)

# Long builds print nothing for minutes; a heartbeat shows they are alive.
heartbeat() { while sleep 60; do log "... still building ($(( $(date +%s) - started ))s elapsed)"; done; }
heartbeat & HB=$!
trap 'kill $HB 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Builds the given k8s.io/kubernetes/cmd/<name> binaries into the directory $1.
build_kubernetes_into() {
  local into="$1"; shift
  local dir="$WORK/kubernetes" minor
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  mkdir -p "$dir"
  log "downloading k8s.io/kubernetes v$K8S_VERSION module metadata"
  local gomod
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local godebug_line
  godebug_line="$(grep -E '^godebug ' "$gomod" || true)"
  {
    echo "module k8shealer.local/k8sbuild"
    echo
    echo "go 1.24.0"
    [ -n "$godebug_line" ] && echo "$godebug_line"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -E '^\s*k8s.io/[^ ]+ => ./staging/' "$gomod" | awk -v v="v0.$minor.$(echo "$K8S_VERSION" | cut -d. -f3)" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  log "resolving dependencies ($(grep -c '^replace' "$dir/go.mod") staging modules replaced)"
  (cd "$dir" && go mod tidy >&2)
  local pkg="k8s.io/component-base/version"
  local ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  log "compiling $* v$K8S_VERSION (the slow part)"
  local targets=()
  for name in "$@"; do targets+=("k8s.io/kubernetes/cmd/$name"); done
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$into/" "${targets[@]}" >&2)
}
build_kubernetes() { build_kubernetes_into "$OUT" kube-apiserver kube-controller-manager kube-scheduler; }

build_etcd() {
  local dir="$WORK/etcd"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module k8shealer.local/etcdbuild

go 1.24.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
EOF
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  log "resolving etcd v$ETCD_VERSION"
  (cd "$dir" && go mod tidy >&2)
  log "compiling etcd v$ETCD_VERSION"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3 >&2)
}

build_kwok() {
  log "compiling kwok v$KWOK_VERSION"
  GOBIN="$OUT" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" >&2
}

for b in "${need[@]}"; do
  case "$b" in
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    kubectl)
      # Into a temporary directory first, so an interrupted build never leaves a half-written binary.
      tmp="$(mktemp -d "$CACHE_ROOT/bin/.kubectl-build.XXXXXX")"
      build_kubernetes_into "$tmp" kubectl
      mkdir -p "$KUBECTL_OUT"
      mv "$tmp/kubectl" "$KUBECTL_OUT/kubectl"
      rm -rf "$tmp"
      log "done in $(( $(date +%s) - started ))s: $KUBECTL_OUT"
      echo "$KUBECTL_OUT"
      exit 0
      ;;
    kube-*) [ -x "$OUT/$b" ] || build_kubernetes ;;
  esac
done

log "done in $(( $(date +%s) - started ))s: $OUT"
echo "$OUT"
