/**
 * Captures real Alertmanager webhook bodies as test fixtures.
 *
 *   npx tsx test/support/capture-alertmanager.ts
 *
 * Starts Debian's prometheus-alertmanager (test/support/alertmanager.ts), posts each alert below
 * through its API as Prometheus would (label sets as kube-prometheus produces them from the
 * kubernetes-mixin rules), receives the webhook it delivers on a tiny HTTP server on 127.0.0.1,
 * and writes each body to test/fixtures/alertmanager/<name>.json exactly as delivered (only
 * re-indented). Nothing here is mocked: the payload shape is Alertmanager's own.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startAlertmanager, type AlertInput } from './alertmanager.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/alertmanager/', import.meta.url));

// Labels Prometheus adds to every kube-state-metrics series in kube-prometheus: the scrape
// target's (pod, service, endpoint and namespace are dropped by its ServiceMonitor) and the
// external label `prometheus`.
const KSM = { container: 'kube-rbac-proxy-main', instance: '10.244.0.12:8443', job: 'kube-state-metrics', prometheus: 'monitoring/k8s' };
const NODE = 'ip-10-0-3-17.eu-west-1.compute.internal';
const runbook = (alert: string) => `https://runbooks.prometheus-operator.dev/runbooks/kubernetes/${alert.toLowerCase()}`;

interface Capture {
  /** File name without .json. */
  readonly file: string;
  readonly alert: AlertInput & { generatorURL: string };
  /** Resolve the alert after its firing notification and capture the resolved one instead. */
  readonly resolve?: boolean;
}

function alert(labels: Record<string, string>, summary: string, description: string, expr: string): Capture['alert'] {
  const name = labels['alertname'] ?? '';
  return {
    labels,
    annotations: { description, ...(name.startsWith('Kube') ? { runbook_url: runbook(name) } : {}), summary },
    startsAt: new Date(Date.now() - 20 * 60_000).toISOString(),
    generatorURL: `http://prometheus-k8s-0:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`,
  };
}

const CAPTURES: readonly Capture[] = [
  {
    file: 'KubePodCrashLooping',
    alert: alert(
      { ...KSM, alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'checkout-7d4b9c6f5-x2x9q', container: 'checkout', reason: 'CrashLoopBackOff', uid: '3f1c2b7e-8a55-4d0e-9a51-0c7f6e2b9d14', severity: 'warning' },
      'Pod is crash looping.',
      'Pod shop/checkout-7d4b9c6f5-x2x9q (checkout) is in waiting state (reason: "CrashLoopBackOff").',
      'max_over_time(kube_pod_container_status_waiting_reason{job="kube-state-metrics",reason="CrashLoopBackOff"}[5m]) >= 1',
    ),
  },
  {
    file: 'KubePodNotReady',
    alert: alert(
      { alertname: 'KubePodNotReady', namespace: 'shop', pod: 'cart-6f7b8c9d4-p8k2m', prometheus: 'monitoring/k8s', severity: 'warning' },
      'Pod has been in a non-ready state for more than 15 minutes.',
      'Pod shop/cart-6f7b8c9d4-p8k2m has been in a non-ready state for longer than 15 minutes.',
      'sum by (namespace, pod) (max by (namespace, pod) (kube_pod_status_phase{job="kube-state-metrics",phase=~"Pending|Unknown"})) > 0',
    ),
  },
  {
    file: 'KubeContainerWaiting',
    alert: alert(
      { alertname: 'KubeContainerWaiting', namespace: 'shop', pod: 'search-5c6d7e8f9-q4w5e', container: 'search', prometheus: 'monitoring/k8s', severity: 'warning' },
      'Pod container waiting longer than 1 hour',
      'pod/search-5c6d7e8f9-q4w5e in namespace shop on container search has been in waiting state for longer than 1 hour.',
      'sum by (namespace, pod, container) (kube_pod_container_status_waiting_reason{job="kube-state-metrics"}) > 0',
    ),
  },
  {
    file: 'KubeDeploymentReplicasMismatch',
    alert: alert(
      { ...KSM, alertname: 'KubeDeploymentReplicasMismatch', namespace: 'shop', deployment: 'checkout', severity: 'warning' },
      'Deployment has not matched the expected number of replicas.',
      'Deployment shop/checkout has not matched the expected number of replicas for longer than 15 minutes.',
      'kube_deployment_spec_replicas{job="kube-state-metrics"} > kube_deployment_status_replicas_available{job="kube-state-metrics"}',
    ),
  },
  {
    file: 'KubeDeploymentRolloutStuck',
    alert: alert(
      { ...KSM, alertname: 'KubeDeploymentRolloutStuck', namespace: 'shop', deployment: 'payments', condition: 'Progressing', status: 'false', severity: 'warning' },
      'Deployment rollout is not progressing.',
      'Rollout of deployment shop/payments is not progressing for longer than 15 minutes.',
      'kube_deployment_status_condition{condition="Progressing",job="kube-state-metrics",status="false"} != 0',
    ),
  },
  {
    file: 'KubeStatefulSetReplicasMismatch',
    alert: alert(
      { ...KSM, alertname: 'KubeStatefulSetReplicasMismatch', namespace: 'data', statefulset: 'postgres', severity: 'warning' },
      'StatefulSet has not matched the expected number of replicas.',
      'StatefulSet data/postgres has not matched the expected number of replicas for longer than 15 minutes.',
      'kube_statefulset_status_replicas_ready{job="kube-state-metrics"} != kube_statefulset_replicas{job="kube-state-metrics"}',
    ),
  },
  {
    file: 'KubeDaemonSetRolloutStuck',
    alert: alert(
      { ...KSM, alertname: 'KubeDaemonSetRolloutStuck', namespace: 'logging', daemonset: 'fluent-bit', severity: 'warning' },
      'DaemonSet rollout is stuck.',
      'DaemonSet logging/fluent-bit has not finished or progressed for at least 15 minutes.',
      'kube_daemonset_status_number_available{job="kube-state-metrics"} != kube_daemonset_status_desired_number_scheduled{job="kube-state-metrics"}',
    ),
  },
  {
    file: 'KubeJobFailed',
    alert: alert(
      { ...KSM, alertname: 'KubeJobFailed', namespace: 'batch', job_name: 'nightly-report-28911520', condition: 'true', severity: 'warning' },
      'Job failed to complete.',
      'Job batch/nightly-report-28911520 failed to complete. Removing failed job after investigation should clear this alert.',
      'kube_job_failed{job="kube-state-metrics"} > 0',
    ),
  },
  {
    file: 'KubeJobNotCompleted',
    alert: alert(
      { alertname: 'KubeJobNotCompleted', namespace: 'batch', job_name: 'reindex-28911000', prometheus: 'monitoring/k8s', severity: 'warning' },
      'Job did not complete in time',
      'Job batch/reindex-28911000 is taking more than 12h 0m 0s to complete.',
      'time() - max by (namespace, job_name) (kube_job_status_start_time{job="kube-state-metrics"} and kube_job_status_active{job="kube-state-metrics"} > 0) > 43200',
    ),
  },
  {
    file: 'KubeNodeNotReady',
    alert: alert(
      { ...KSM, alertname: 'KubeNodeNotReady', node: NODE, condition: 'Ready', status: 'true', severity: 'warning' },
      'Node is not ready.',
      `${NODE} has been unready for more than 15 minutes.`,
      'kube_node_status_condition{condition="Ready",job="kube-state-metrics",status="true"} == 0',
    ),
  },
  {
    file: 'KubeNodeUnreachable',
    alert: alert(
      { ...KSM, alertname: 'KubeNodeUnreachable', node: NODE, key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', severity: 'warning' },
      'Node is unreachable.',
      `${NODE} is unreachable and some workloads may be rescheduled.`,
      'kube_node_spec_taint{effect="NoSchedule",job="kube-state-metrics",key="node.kubernetes.io/unreachable"} == 1',
    ),
  },
  {
    file: 'KubeHpaMaxedOut',
    alert: alert(
      { ...KSM, alertname: 'KubeHpaMaxedOut', namespace: 'shop', horizontalpodautoscaler: 'checkout', severity: 'warning' },
      'HPA is running at max replicas',
      'HPA shop/checkout has been running at max replicas for longer than 15 minutes.',
      'kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"} == kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics"}',
    ),
  },
  {
    file: 'KubePersistentVolumeFillingUp',
    alert: alert(
      // kubelet volume stats: the kubelet ServiceMonitor keeps endpoint/service/metrics_path and adds node.
      { alertname: 'KubePersistentVolumeFillingUp', endpoint: 'https-metrics', instance: '10.0.3.17:10250', job: 'kubelet', metrics_path: '/metrics', namespace: 'data', node: NODE, persistentvolumeclaim: 'data-postgres-0', prometheus: 'monitoring/k8s', service: 'kubelet', severity: 'critical' },
      'PersistentVolume is filling up.',
      'The PersistentVolume claimed by data-postgres-0 in Namespace data is only 2.1% free.',
      'kubelet_volume_stats_available_bytes{job="kubelet",metrics_path="/metrics"} / kubelet_volume_stats_capacity_bytes{job="kubelet",metrics_path="/metrics"} < 0.03',
    ),
  },
  // Not mapped: a page-only incident on the pod its labels name.
  {
    file: 'unknown-CPUThrottlingHigh',
    alert: alert(
      { alertname: 'CPUThrottlingHigh', container: 'api', namespace: 'shop', pod: 'api-6c7d8e9f0-fghij', prometheus: 'monitoring/k8s', severity: 'info' },
      'Processes experience elevated CPU throttling.',
      '41.2% throttling of CPU in namespace shop for container api in pod api-6c7d8e9f0-fghij.',
      'sum by (container, pod, namespace) (increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])) / sum by (container, pod, namespace) (increase(container_cpu_cfs_periods_total[5m])) > (25 / 100)',
    ),
  },
  // No subject at all: skipped with a reason.
  {
    file: 'no-subject-Watchdog',
    alert: alert(
      { alertname: 'Watchdog', prometheus: 'monitoring/k8s', severity: 'none' },
      'An alert that should always be firing to certify that Alertmanager is working properly.',
      'This is an alert meant to ensure that the entire alerting pipeline is functional.',
      'vector(1)',
    ),
  },
  // Fired, then cleared: Alertmanager sends the resolved notification (send_resolved: true).
  {
    file: 'resolved-KubePodCrashLooping',
    resolve: true,
    alert: alert(
      { ...KSM, alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'worker-5f6d7c8b9-abcde', container: 'worker', reason: 'CrashLoopBackOff', uid: '9b0d6e21-4c3a-4f7e-8d2b-5a1e3c7f9a60', severity: 'warning' },
      'Pod is crash looping.',
      'Pod shop/worker-5f6d7c8b9-abcde (worker) is in waiting state (reason: "CrashLoopBackOff").',
      'max_over_time(kube_pod_container_status_waiting_reason{job="kube-state-metrics",reason="CrashLoopBackOff"}[5m]) >= 1',
    ),
  },
];

interface Delivery {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly json: { status: string; alerts: { status: string; labels: Record<string, string> }[] };
}

/** A receiver on 127.0.0.1 that records every POST and answers 200, as a healthy webhook would. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      deliveries.push({ headers: req.headers, body, json: JSON.parse(body) as Delivery['json'] });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('receiver has no port');
  return {
    url: `http://127.0.0.1:${address.port}/alerts`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const podOf = (c: Capture) => c.alert.labels['pod'];
const matches = (c: Capture, status: string) => (d: Delivery) =>
  d.json.status === status &&
  d.json.alerts.length === 1 &&
  d.json.alerts.every((a) => a.status === status && a.labels['alertname'] === c.alert.labels['alertname'] && a.labels['pod'] === podOf(c));

export async function captureFixtures(): Promise<string[]> {
  const receiver = await startReceiver();
  const token = randomBytes(16).toString('hex');
  const am = await startAlertmanager({ webhookUrl: receiver.url, bearerToken: token, repeatInterval: '1h' });
  const written: string[] = [];
  try {
    await am.postAlerts(CAPTURES.map((c) => c.alert));
    for (const capture of CAPTURES) {
      let delivery = await waitFor(`${capture.file} (firing)`, () => receiver.deliveries.find(matches(capture, 'firing')));
      if (capture.resolve) {
        await am.postAlerts([{ ...capture.alert, endsAt: new Date(Date.now() - 1000).toISOString() }]);
        delivery = await waitFor(`${capture.file} (resolved)`, () => receiver.deliveries.find(matches(capture, 'resolved')));
      }
      if (delivery.headers['authorization'] !== `Bearer ${token}`) throw new Error('Alertmanager did not send the bearer token');
      const file = `${FIXTURES}${capture.file}.json`;
      await writeFile(file, `${JSON.stringify(JSON.parse(delivery.body), null, 2)}\n`);
      written.push(file);
    }
  } finally {
    await am.stop();
    await receiver.close();
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  captureFixtures().then(
    (files) => console.log(`captured ${files.length} fixtures:\n${files.join('\n')}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
