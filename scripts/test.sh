#!/usr/bin/env bash
# `npm test`: the whole suite on real local components.
#   1. tools: prometheus-alertmanager, prometheus, Java, Python venv with moto and cfn-lint (idempotent)
#   2. Kubernetes binaries (and kube-state-metrics): KUBEBUILDER_ASSETS, the ~/.cache build, or a build from the Go module
#      proxy (about 10 minutes cold on 2 cores; skipped when TEST_KUBECONFIG names a cluster)
#   3. typecheck, lint, then every test file (unit, integration, e2e)
# Extra arguments go to vitest (e.g. `npm test -- test/unit`).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "tools (scripts/setup-tools.sh)"
bash scripts/setup-tools.sh

if [ -z "${TEST_KUBECONFIG:-}" ]; then
  step "Kubernetes binaries (scripts/k8s-binaries.sh)"
  bash scripts/k8s-binaries.sh >/dev/null
  # The EKS token's real verifier (test/integration/eks-verifier.test.ts); its own cache directory.
  bash scripts/k8s-binaries.sh --aws-iam-authenticator >/dev/null
fi

step "typecheck"
npx tsc -p tsconfig.json

step "lint"
npx eslint .

step "tests"
results="$(mktemp "${TMPDIR:-/tmp}/healer-vitest.XXXXXX.json")"
trap 'rm -f "$results"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line that any CI reads: "tests: N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results" 2>/dev/null || echo "tests: no result file (vitest failed before running tests)"
exit "$status"
