import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, type V1Pod } from '@kubernetes/client-node';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { alertmanagerUnavailable, startAlertmanager, type Alertmanager } from '../support/alertmanager.js';
import { acquireControlPlane, controlPlaneAvailable, deleteNamespace, ensureNamespace, listPods, loadKubeConfig, waitFor, type ClusterInfo } from '../support/control-plane.js';
import { kubeStateMetricsBinary, startKubeStateMetrics, type KubeStateMetrics } from '../support/kube-state-metrics.js';
import { KSM_JOB, kubernetesMixinAlerts, prometheusUnavailable, startPrometheus, withShortFor, type Prometheus } from '../support/prometheus.js';
import { mustRun } from '../support/process.js';
import * as sc from '../support/scenario-workloads.js';
import { serveHttpApi } from '../../lib/local/http-api.js';
import { pollQueue } from '../../lib/local/sqs-poller.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { AuditEntry } from '../../lib/domain/types.js';

/**
 * The alert chain users already run, end to end: kube-state-metrics watches the local apiserver;
 * Prometheus scrapes it and evaluates the kubernetes-mixin alerting rules as rendered upstream
 * (test/fixtures/kubernetes-mixin, only `for:` shortened); the real Alertmanager delivers to the
 * webhook Lambda handler over HTTP; the worker acts through the scoped ServiceAccount and the
 * write gate; the fix is verified. No alert here is written by hand: every label on it is one
 * kube-state-metrics or the mixin set.
 */
/**
 * Also how long the crash loop lasts: the eviction comes at least `for:` after the pod exists, so
 * its replacement always starts after the recovery, and making the pod has all of that time.
 */
const FIRING_AFTER_SECONDS = 15;
const FIRING_AFTER = `${FIRING_AFTER_SECONDS}s`;
const ALERTS_UNDER_TEST = ['KubePodCrashLooping', 'KubeJobFailed', 'KubeContainerWaiting'];
const run = randomBytes(2).toString('hex');
const NS = { crash: `chain-crash-${run}`, job: `chain-job-${run}`, pull: `chain-pull-${run}` };

function unavailable(): string | undefined {
  if (process.env.TEST_KUBECONFIG) return 'TEST_KUBECONFIG is set (the chain needs kwok to play the kubelet)';
  // Throws under CI=true when the control plane is missing.
  if (!controlPlaneAvailable()) return 'no local control plane';
  const ksm = kubeStateMetricsBinary();
  const missing = [ksm.ok ? undefined : ksm.reason, prometheusUnavailable(), alertmanagerUnavailable()].filter((r) => r !== undefined);
  if (missing.length === 0) return undefined;
  const reason = `${missing.join('; ')}; run: bash scripts/setup-tools.sh && bash scripts/k8s-binaries.sh`;
  if (mustRun()) throw new Error(`CI=true and the alert chain cannot run: ${reason}`);
  return reason;
}
const skipReason = unavailable();
// Straight to stderr: vitest holds console output of files whose tests all skipped.
if (skipReason) process.stderr.write(`[alert-chain] skipping: ${skipReason}\n`);

let cluster: ClusterInfo;
let releaseCluster: () => Promise<void>;
let env: HealerEnv;
let alertmanager: Alertmanager;
let ksm: KubeStateMetrics;
let prometheus: Prometheus;
let closeWebhook: () => Promise<void>;
let stopPoller: () => Promise<void>;
/** Every alert the webhook received from Alertmanager, as delivered. */
const delivered: { status: string; labels: Record<string, string> }[] = [];

async function auditOf(id: string): Promise<AuditEntry[]> {
  return new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(id);
}

const outcomeOf = (id: string) =>
  waitFor(async () => (await auditOf(id)).find((e) => e.step === 'outcome')?.outcome, { what: `the outcome of incident ${id}`, timeoutMs: 60_000 });

/** Waits for Alertmanager to deliver a firing alert; on timeout, says what Prometheus had. */
async function deliveredAlert(alertname: string, match: Record<string, string>): Promise<Record<string, string>> {
  const matches = (labels: Record<string, string>) => labels['alertname'] === alertname && Object.entries(match).every(([k, v]) => labels[k] === v);
  try {
    return await waitFor(() => delivered.find((a) => a.status === 'firing' && matches(a.labels))?.labels, { what: `${alertname} ${JSON.stringify(match)} delivered to the webhook`, timeoutMs: 90_000 });
  } catch (error) {
    const seen = (await prometheus.alerts().catch(() => [])).map((a) => `${a.labels['alertname']}(${a.state})`);
    throw new Error(`${String(error)}; Prometheus had: ${seen.join(', ') || 'no alerts'}`);
  }
}

beforeAll(async () => {
  if (skipReason) return;
  ({ cluster, release: releaseCluster } = await acquireControlPlane());
  await Promise.all(Object.values(NS).map((n) => ensureNamespace(cluster.adminKubeconfigPath, n)));
  env = await startHealerEnv({
    KUBECONFIG: cluster.healerKubeconfigPath,
    HEALER_DRY_RUN: 'false',
    HEALER_VERIFY_DELAY_SECONDS: '2',
  });
  const webhook = await import('../../functions/alertmanager-webhook.js');
  const worker = await import('../../functions/remediate.js');
  let webhookUrl: string;
  ({ url: webhookUrl, close: closeWebhook } = await serveHttpApi({
    'POST /alerts': async (event, context) => {
      const body = JSON.parse(Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8')) as { alerts?: typeof delivered };
      delivered.push(...(body.alerts ?? []));
      return webhook.handler(event, context);
    },
  }));
  ({ stop: stopPoller } = pollQueue({ client: env.moto.sqs(), queueUrl: env.queueUrl, handler: worker.handler, waitSeconds: 1 }));
  alertmanager = await startAlertmanager({ webhookUrl: `${webhookUrl}/alerts`, bearerToken: env.token, repeatInterval: '1m' });
  // This file's namespaces only: the control plane is shared with other test files, whose
  // crash-looping pods must not reach this healer.
  ksm = await startKubeStateMetrics({ kubeconfigPath: cluster.adminKubeconfigPath, namespaces: Object.values(NS) });
  const { rules, version } = kubernetesMixinAlerts();
  console.log(`[alert-chain] kubernetes-mixin ${version}; ${ALERTS_UNDER_TEST.join(', ')} fire after ${FIRING_AFTER}`);
  prometheus = await startPrometheus({ kubeStateMetrics: ksm.target, alertmanager: alertmanager.endpoint, rules: withShortFor(rules, ALERTS_UNDER_TEST, FIRING_AFTER) });
}, 300_000);

afterAll(async () => {
  if (skipReason) return;
  await prometheus?.stop();
  await ksm?.stop();
  await alertmanager?.stop();
  await stopPoller?.();
  await closeWebhook?.();
  await env?.stop();
  if (cluster) await Promise.all(Object.values(NS).map((n) => deleteNamespace(cluster.adminKubeconfigPath, n)));
  await releaseCluster?.();
});

describe.skipIf(skipReason !== undefined)('the real alert chain: kube-state-metrics → Prometheus (kubernetes-mixin) → Alertmanager → webhook', () => {
  it('KubePodCrashLooping, as kube-state-metrics labels it, leads to an eviction the apiserver accepts, then a verified recovery', async () => {
    // Prepare: a Deployment whose pod crash-loops on a refused connection; pods made after
    // `recoversAt` run normally (the dependency is back), so a fresh pod is the fix.
    const [crashing] = await sc.transientCrashLoop(NS.crash, 'orders', { recoversAt: new Date(Date.now() + FIRING_AFTER_SECONDS * 1000) });
    const pod = crashing as V1Pod;
    const podName = pod.metadata?.name ?? '';
    const id = incidentId('local', NS.crash, 'Pod', podName, 'CrashLoopBackOff');

    // Act: nothing by hand. Prometheus sees kube_pod_container_status_waiting_reason, fires, and
    // Alertmanager delivers.
    const labels = await deliveredAlert('KubePodCrashLooping', { namespace: NS.crash, pod: podName });

    // Assess: the label set is the mixin's rule over kube-state-metrics' series, nothing else.
    expect(labels).toEqual({
      alertname: 'KubePodCrashLooping',
      severity: 'warning',
      job: KSM_JOB,
      instance: ksm.target,
      namespace: NS.crash,
      pod: podName,
      uid: pod.metadata?.uid,
      container: 'orders',
      reason: 'CrashLoopBackOff',
    });
    expect(await outcomeOf(id)).toBe('acted');
    const entries = await auditOf(id);
    expect(entries.find((e) => e.step === 'intake')?.detail).toMatchObject({ source: 'alertmanager', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', name: podName, namespace: NS.crash }, alertname: 'KubePodCrashLooping' });
    expect(entries.find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'evict-pod', ok: true, target: { uid: pod.metadata?.uid } });
    // The replacement runs (the dependency is back): the delayed re-check reports the fix worked.
    const verified = await waitFor(async () => (await auditOf(id)).find((e) => e.step === 'verification' && e.detail['status'] === 'done'), { what: 'the verification to be done', timeoutMs: 90_000 });
    expect(verified).toBeDefined();
    const pods = (await listPods(cluster.adminKubeconfigPath, NS.crash, { app: 'orders' })).filter((p) => !p.metadata?.deletionTimestamp);
    expect(pods.map((p) => p.metadata?.uid)).not.toContain(pod.metadata?.uid);
    expect(pods).toHaveLength(1);
  }, 240_000);

  it('KubeJobFailed reaches the intake by job_name (not the scrape job) and pages, leaving the Job alone', async () => {
    // Prepare: a Job whose only pod fails on an unreachable dependency (backoffLimit 0).
    await sc.job(NS.job, 'ledger-sync', 'fail', '2026-11-25T07:00:02Z ERROR connect EHOSTUNREACH 10.96.7.7:5432\n');
    const id = incidentId('local', NS.job, 'Job', 'ledger-sync', 'JobFailed');

    // Act: nothing by hand; kube_job_failed > 0 fires.
    const labels = await deliveredAlert('KubeJobFailed', { namespace: NS.job, job_name: 'ledger-sync' });

    // Assess: `job` is Prometheus' scrape job, the Job's name is in job_name; a failed Job pages.
    expect(labels).toMatchObject({ alertname: 'KubeJobFailed', job: KSM_JOB, job_name: 'ledger-sync', namespace: NS.job, severity: 'warning' });
    expect(await outcomeOf(id)).toBe('paged');
    const entries = await auditOf(id);
    expect(entries.find((e) => e.step === 'intake')?.detail).toMatchObject({ source: 'alertmanager', symptom: 'JobFailed', subject: { kind: 'Job', name: 'ledger-sync', namespace: NS.job }, alertname: 'KubeJobFailed' });
    expect(entries.some((e) => e.step === 'action')).toBe(false);
    const job = await loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(BatchV1Api).readNamespacedJob({ name: 'ledger-sync', namespace: NS.job });
    expect(job.metadata?.deletionTimestamp).toBeUndefined();
  }, 240_000);

  it('KubeContainerWaiting keeps kube-state-metrics\' reason label: ImagePullBackOff becomes its own symptom, and pages', async () => {
    // Prepare: a Deployment whose image cannot be pulled.
    const [waiting] = await sc.waitingDeployment(NS.pull, 'catalog', 'imagepull');
    const podName = waiting?.metadata?.name ?? '';
    const id = incidentId('local', NS.pull, 'Pod', podName, 'ImagePullBackOff');

    // Act: nothing by hand; kube_pod_container_status_waiting_reason{reason!="CrashLoopBackOff"} fires.
    const labels = await deliveredAlert('KubeContainerWaiting', { namespace: NS.pull, pod: podName });

    // Assess: the reason rides on the alert and refines the symptom; no restart pulls a missing image.
    expect(labels).toMatchObject({ alertname: 'KubeContainerWaiting', job: KSM_JOB, namespace: NS.pull, pod: podName, container: 'catalog', reason: 'ImagePullBackOff' });
    expect(await outcomeOf(id)).toBe('paged');
    const entries = await auditOf(id);
    expect(entries.find((e) => e.step === 'intake')?.detail).toMatchObject({ symptom: 'ImagePullBackOff', subject: { kind: 'Pod', name: podName, namespace: NS.pull }, alertname: 'KubeContainerWaiting' });
    expect(entries.some((e) => e.step === 'action')).toBe(false);
  }, 240_000);
});
