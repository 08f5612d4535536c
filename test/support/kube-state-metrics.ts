/**
 * A real kube-state-metrics (built from the Go module proxy by scripts/k8s-binaries.sh) watching
 * the local apiserver and serving /metrics on 127.0.0.1: the labels on every alert of the chain
 * are exactly the ones it sets.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './control-plane.js';
import { freePort, spawnSupervised, waitUntilReady, type RunningComponent } from './process.js';

const BINARIES_SCRIPT = join(REPO_ROOT, 'scripts/k8s-binaries.sh');

/** The binary, or why there is none (never builds: `bash scripts/k8s-binaries.sh` does). */
export function kubeStateMetricsBinary(): { ok: true; path: string } | { ok: false; reason: string } {
  const r = spawnSync('bash', [BINARIES_SCRIPT, '--no-build', '--kube-state-metrics'], { encoding: 'utf8' });
  const dir = (r.stdout ?? '').trim().split('\n').filter(Boolean).at(-1);
  if (r.status !== 0 || !dir) {
    const why = ((r.stderr ?? '').trim().split('\n').at(-1) ?? `exit ${r.status}`).replace(/^\[k8s-binaries [\d:]+\] /, '');
    return { ok: false, reason: `kube-state-metrics not available (${why})` };
  }
  const path = join(dir, 'kube-state-metrics');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { ok: false, reason: `kube-state-metrics missing in ${dir} (run: bash scripts/k8s-binaries.sh)` };
  }
  return { ok: true, path };
}

export interface KubeStateMetrics extends RunningComponent {
  /** host:port of /metrics, for a Prometheus scrape target. */
  readonly target: string;
}

/** Workload resources only: the alerts under test need nothing else, and fewer watches start faster. */
const RESOURCES = ['pods', 'deployments', 'replicasets', 'jobs', 'statefulsets', 'daemonsets', 'nodes'];

/** `namespaces`: watch only these (plus cluster-scoped nodes); default: all. */
export async function startKubeStateMetrics(opts: { kubeconfigPath: string; namespaces?: readonly string[] }): Promise<KubeStateMetrics> {
  const binary = kubeStateMetricsBinary();
  if (!binary.ok) throw new Error(binary.reason);
  const [port, telemetryPort] = [await freePort(), await freePort()];
  const started = Date.now();
  const proc = spawnSupervised(binary.path, [
    `--kubeconfig=${opts.kubeconfigPath}`,
    '--host=127.0.0.1',
    `--port=${port}`,
    '--telemetry-host=127.0.0.1',
    `--telemetry-port=${telemetryPort}`,
    `--resources=${RESOURCES.join(',')}`,
    ...(opts.namespaces ? [`--namespaces=${opts.namespaces.join(',')}`] : []),
  ]);
  const endpoint = `http://127.0.0.1:${port}`;
  // Ready once its informers have synced: the control plane's kwok nodes show as kube_node_info.
  await waitUntilReady('kube-state-metrics', proc, async () => {
    const response = await fetch(`${endpoint}/metrics`);
    return response.ok && (await response.text()).includes('kube_node_info{');
  }, 60_000);
  return {
    endpoint,
    target: `127.0.0.1:${port}`,
    startMs: Date.now() - started,
    pid: proc.pid,
    stop: () => proc.stop(),
  };
}
