#!/usr/bin/env bash
# Installs what the real-component tests need besides npm packages and the Kubernetes binaries:
#   - Debian packages: prometheus-alertmanager (real webhooks), prometheus (the alert-chain test
#     evaluates the kubernetes-mixin rules), a Java 17+ runtime (DynamoDB Local), chromium (the
#     incident view, driven headless by playwright-core)
#   - a Python venv with moto[server] (SNS/SQS) and cfn-lint (template validation)
# Idempotent: each step is skipped when already satisfied. Progress goes to stderr.
#
# `--holmes` does only the opt-in step of `npm run bench:holmes` (never part of `npm test`):
# HolmesGPT (PyPI holmesgpt, pinned) in its own venv, so its many pins cannot clash with
# moto's and cfn-lint's. It prints the venv's directory last on stdout.
set -euo pipefail

CACHE_ROOT="${K8S_HEALER_CACHE:-$HOME/.cache/k8s-healer}"
VENV="$CACHE_ROOT/venv"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"
HOLMES_VENV="$CACHE_ROOT/holmes-venv"
HOLMESGPT_VERSION="${HOLMESGPT_VERSION:-0.45.0}"

log() { printf '[setup-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${1:-}" = "--holmes" ]; then
  command -v python3 >/dev/null 2>&1 || { log "ERROR: python3 not found (HolmesGPT is a Python package)"; exit 3; }
  python3 -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null \
    || { log "ERROR: HolmesGPT needs Python >= 3.10, found $(python3 --version 2>&1)"; exit 3; }
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || { log "ERROR: python3 has no venv/ensurepip (Debian: apt-get install python3-venv)"; exit 3; }
  if [ ! -x "$HOLMES_VENV/bin/holmes" ] \
     || ! "$HOLMES_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('holmesgpt')=='$HOLMESGPT_VERSION'" 2>/dev/null; then
    log "creating Python venv at $HOLMES_VENV (holmesgpt==$HOLMESGPT_VERSION; about a minute)"
    mkdir -p "$CACHE_ROOT"
    rm -rf "$HOLMES_VENV"
    python3 -m venv "$HOLMES_VENV"
    "$HOLMES_VENV/bin/pip" install -q --disable-pip-version-check "holmesgpt==$HOLMESGPT_VERSION" >&2
  fi
  log "HolmesGPT $HOLMESGPT_VERSION ready (venv: $HOLMES_VENV)"
  echo "$HOLMES_VENV"
  exit 0
fi

apt_missing=()
command -v alertmanager >/dev/null 2>&1 || [ -x /usr/bin/prometheus-alertmanager ] || apt_missing+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus ] || apt_missing+=(prometheus)
command -v java >/dev/null 2>&1 || apt_missing+=(openjdk-17-jre-headless)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    log "ERROR: need Debian packages ${apt_missing[*]} and cannot install them (not root, no sudo)"
    exit 3
  fi
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "installing Debian packages: ${apt_missing[*]}"
  $SUDO apt-get update -qq >&2
  # The prometheus and alertmanager packages start system services on install; the tests start
  # their own. A policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d and
  # deb-systemd-invoke from starting them; one is put in place for the install when the machine
  # has none, and removed after.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2 || status=$?
  [ "$own_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || exit "$status"
fi

if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ] \
   || ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('moto')=='$MOTO_VERSION' and m.version('cfn-lint')=='$CFN_LINT_VERSION'" 2>/dev/null; then
  log "creating Python venv at $VENV (moto[server]==$MOTO_VERSION, cfn-lint==$CFN_LINT_VERSION)"
  mkdir -p "$CACHE_ROOT"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" >&2
fi
log "tools ready (venv: $VENV)"
