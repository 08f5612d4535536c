#!/usr/bin/env bash
# Renders the alerting rules of kubernetes-monitoring/kubernetes-mixin (the rules kube-prometheus
# and most clusters run) into test/fixtures/kubernetes-mixin/prometheus_alerts.json, which the
# alert-chain test loads into a real Prometheus. Run it by hand to move to a newer mixin release:
#
#   bash scripts/render-kubernetes-mixin.sh <checkout of kubernetes-mixin at a release tag> <tag>
#
# The mixin is not served by any package registry this project can reach (the Go module proxy
# refuses github.com/kubernetes-monitoring/kubernetes-mixin), so the rendered text is committed
# with its version; the renderer, go-jsonnet, comes from the Go module proxy and is cached like
# the Kubernetes binaries. Only the alerts are rendered: the dashboards would need grafonnet.
# The output is upstream's default configuration, unchanged (job="kube-state-metrics" selectors,
# upstream `for:` durations); the test shortens `for:` itself when it loads the file.
set -euo pipefail
cd "$(dirname "$0")/.."

MIXIN="${1:?usage: render-kubernetes-mixin.sh <kubernetes-mixin checkout> <tag>}"
TAG="${2:?usage: render-kubernetes-mixin.sh <kubernetes-mixin checkout> <tag>}"
JSONNET_VERSION="${JSONNET_VERSION:-0.22.0}"
CACHE_ROOT="${K8S_HEALER_CACHE:-$HOME/.cache/k8s-healer}"
JSONNET_DIR="$CACHE_ROOT/bin/go-jsonnet-v$JSONNET_VERSION"
OUT_DIR=test/fixtures/kubernetes-mixin

log() { printf '[render-kubernetes-mixin %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ ! -x "$JSONNET_DIR/jsonnet" ]; then
  log "building go-jsonnet v$JSONNET_VERSION from the Go module proxy"
  mkdir -p "$JSONNET_DIR"
  CGO_ENABLED=0 GOBIN="$JSONNET_DIR" go install -trimpath "github.com/google/go-jsonnet/cmd/jsonnet@v$JSONNET_VERSION" >&2
fi

started=$(date +%s%N)
# alerts + config only: mixin.libsonnet would also import the dashboards (grafonnet).
(cd "$MIXIN" && "$JSONNET_DIR/jsonnet" -e '((import "alerts/alerts.libsonnet") + (import "config.libsonnet")).prometheusAlerts') \
  >"$OUT_DIR/prometheus_alerts.json"
cp "$MIXIN/LICENSE" "$OUT_DIR/LICENSE"
cp "$MIXIN/NOTICE" "$OUT_DIR/NOTICE"
commit="$(git -C "$MIXIN" rev-parse HEAD 2>/dev/null || echo unknown)"
printf '{\n  "source": "github.com/kubernetes-monitoring/kubernetes-mixin",\n  "tag": "%s",\n  "commit": "%s",\n  "rendered": "((import \\"alerts/alerts.libsonnet\\") + (import \\"config.libsonnet\\")).prometheusAlerts",\n  "renderer": "github.com/google/go-jsonnet v%s"\n}\n' \
  "$TAG" "$commit" "$JSONNET_VERSION" >"$OUT_DIR/version.json"
log "rendered $TAG ($commit) in $(( ($(date +%s%N) - started) / 1000000 )) ms: $OUT_DIR/prometheus_alerts.json"
