import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, controlPlaneAvailable, deleteNamespace, listPods, loadKubeConfig, waitFor, type ClusterInfo } from '../support/control-plane.js';
import * as sc from '../support/scenario-workloads.js';
import { serveHttpApi, localContext } from '../../lib/local/http-api.js';
import { pollQueue } from '../../lib/local/sqs-poller.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { AuditEntry, Outcome, Symptom } from '../../lib/domain/types.js';
import type { ReceivedNotification } from '../support/moto.js';

/**
 * docs/scenarios.md, row by row, on the local control plane, end to end and with every part real:
 * the symptom as a kubelet (kwok) and the controllers report it; the alert path (an
 * Alertmanager payload to the webhook Lambda handler) and the scan path (the scheduled-scan
 * handler); moto SQS to the remediate handler; the healer's scoped ServiceAccount; DynamoDB Local
 * for state and audit; moto SNS for the pages; delayed verification messages back through SQS;
 * the approval link through the approve handler. The runbook diagnoses (no model key).
 *
 * Rows not here: 11 (PDB) is test/integration/pdb-eviction.test.ts, 14 (storm) test/e2e/storm.test.ts,
 * 15 (re-deliveries) test/e2e/first-heal.test.ts, 18 (secrets) test/integration/redaction paths
 * and 20 (model failures) test/integration/scenarios.test.ts; they need no extra cluster state.
 */
const available = controlPlaneAvailable() && !process.env.TEST_KUBECONFIG;
const run = randomBytes(2).toString('hex');
const ns = (path: 'a' | 's', row: string) => `sc-${path}${row}-${run}`;
const APPROVAL_KEY = randomBytes(32).toString('hex');
const SATURATION_MAPPING = JSON.stringify({ CheckoutLatencyHigh: { symptom: 'WorkloadSaturated', kind: 'Deployment', nameLabel: 'deployment', namespaceLabel: 'namespace' } });

let cluster: ClusterInfo;
let release: () => Promise<void>;
let env: HealerEnv;
let baseUrl: string;
let closeHttp: () => Promise<void>;
let stopPoller: () => Promise<void>;
let scanHandler: (event: ScheduledEvent, context: Context) => Promise<unknown>;
const routes: Record<string, (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>> = {};
const pages: ReceivedNotification[] = [];
let draining = true;
let drainLoop: Promise<void>;
const created = { namespaces: [] as string[], nodes: [] as string[] };

const admin = () => loadKubeConfig(cluster.adminKubeconfigPath);

async function auditOf(id: string): Promise<AuditEntry[]> {
  return new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(id);
}

/** An opted-out place: the short page from metadata alone; nothing read, diagnosed, sent out or done. */
function expectShortPageOnly(entries: readonly AuditEntry[]): void {
  const decision = entries.find((e) => e.step === 'decision')?.detail;
  expect(decision).toMatchObject({ allowed: false, deniedBy: 'protected-place', evidenceRead: false });
  expect(String(decision?.reason)).toMatch(/opted out/);
  expect(entries.some((e) => e.step === 'evidence' || e.step === 'diagnosis' || e.step === 'action')).toBe(false);
}

/** The remediation's own outcome (the first `outcome` entry; a verification adds a later one). */
async function outcomeOf(id: string, timeoutMs = 60_000): Promise<Outcome> {
  return waitFor(async () => (await auditOf(id)).find((e) => e.step === 'outcome')?.outcome, { what: `the outcome of incident ${id}`, timeoutMs });
}

async function verifiedOf(id: string, timeoutMs = 90_000): Promise<AuditEntry> {
  return waitFor(async () => (await auditOf(id)).find((e) => e.step === 'verification' && (e.detail['status'] === 'done' || e.detail['status'] === 'failed')), { what: `the verification of incident ${id}`, timeoutMs });
}

function pagesAbout(namespaceOrNode: string): ReceivedNotification[] {
  return pages.filter((p) => (p.subject ?? '').includes(namespaceOrNode) || p.message.includes(namespaceOrNode));
}

async function alert(labels: Record<string, string>, annotations: Record<string, string> = { summary: 'test alert' }): Promise<void> {
  const payload = {
    version: '4',
    groupKey: `{}:{alertname="${labels['alertname'] ?? ''}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'healer',
    groupLabels: { alertname: labels['alertname'] },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager.local',
    alerts: [{ status: 'firing', labels: { severity: 'warning', ...labels }, annotations, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus.local/graph', fingerprint: randomBytes(8).toString('hex') }],
  };
  const response = await fetch(`${baseUrl}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.token}` }, body: JSON.stringify(payload) });
  expect(response.status).toBeLessThan(300);
}

const podId = (namespace: string, pod: string, symptom: Symptom = 'CrashLoopBackOff') => incidentId('local', namespace, 'Pod', pod, symptom);

beforeAll(async () => {
  if (!available) return;
  ({ cluster, release } = await acquireControlPlane());
  ({ url: baseUrl, close: closeHttp } = await serveHttpApi(routes));
  env = await startHealerEnv({
    KUBECONFIG: cluster.healerKubeconfigPath,
    HEALER_DRY_RUN: 'false',
    HEALER_VERIFY_DELAY_SECONDS: '2',
    HEALER_ALERT_MAPPINGS: SATURATION_MAPPING,
    HEALER_APPROVAL_KEY: APPROVAL_KEY,
    HEALER_APPROVAL_URL: `${baseUrl}/approve`,
    // Two nodes here (kwok's and the lost one): a 50% budget lets the one cordon through.
    HEALER_MAX_CORDONED_NODE_SHARE: '0.5',
    HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR: '5',
    HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR: '50',
    HEALER_SCAN_JOB_STUCK_SECONDS: '5',
    // The row-6 Job hangs from its first second with no pod ever succeeding: the scenario's "far past
    // its expected run time" is 5 s here, the same threshold the scan uses to find it.
    HEALER_JOB_STUCK_SECONDS: '5',
    HEALER_SCAN_UNSCHEDULABLE_SECONDS: '0',
    HEALER_SCAN_NODE_NOT_READY_SECONDS: '0',
    HEALER_GROUP_WINDOW_SECONDS: '60',
  });
  const webhook = await import('../../functions/alertmanager-webhook.js');
  const worker = await import('../../functions/remediate.js');
  const approve = await import('../../functions/approve.js');
  const scan = await import('../../functions/scheduled-scan.js');
  routes['POST /alerts'] = webhook.handler;
  routes['GET /approve'] = approve.handler;
  routes['POST /approve'] = approve.handler;
  scanHandler = scan.handler;
  ({ stop: stopPoller } = pollQueue({ client: env.moto.sqs(), queueUrl: env.queueUrl, handler: worker.handler, waitSeconds: 1, batchSize: 5 }));
  drainLoop = (async () => {
    while (draining) pages.push(...(await env.inbox.receive(10, 1_000)));
  })();
}, 300_000);

afterAll(async () => {
  if (!available) return;
  draining = false;
  await drainLoop;
  await stopPoller?.();
  await closeHttp?.();
  const core = admin().makeApiClient(CoreV1Api);
  await Promise.allSettled([...created.namespaces.map((n) => deleteNamespace(cluster.adminKubeconfigPath, n)), ...created.nodes.map((n) => core.deleteNode({ name: n }))]);
  await env?.stop();
  await release?.();
}, 120_000);

describe.skipIf(!available)('docs/scenarios.md on the control plane: the alert path', () => {
  // Set when the symptoms are made: pods made before it crash-loop, pods made after it run.
  let recoversAt = new Date(0);
  const lost = `sc-lost-a-${run}`;
  let row1: string;
  let row2: string;
  let row3: string;
  let row4: string;
  let row5: string;
  let row16: string;
  let row17: string;
  let row19: string;
  let row13: string;

  beforeAll(async () => {
    recoversAt = new Date(Date.now() + 30_000);
    const n = (row: string) => {
      const name = ns('a', row);
      created.namespaces.push(name);
      return name;
    };
    created.nodes.push(lost);
    // All symptoms at once: each takes seconds to show, and they do not touch each other.
    const [p1, p2, p3, p4, p5, p16, p17, p13] = await Promise.all([
      sc.transientCrashLoop(n('1'), 'orders', { recoversAt }),
      sc.badRelease(n('2'), 'orders'),
      sc.oomLoop(n('3'), 'search'),
      sc.waitingDeployment(n('4'), 'thumbnailer', 'imagepull'),
      sc.waitingDeployment(n('5'), 'checkout', 'configerror'),
      sc.healthyDeployment(n('16'), 'web', 1),
      sc.transientCrashLoop(n('17'), 'gateway', { recoversAt, previousLog: sc.INJECTION_LOG }),
      sc.unschedulable(n('13'), 'batch-api'),
      sc.job(n('6'), 'invoice-export', 'hang', '2026-11-25T07:00:00Z INFO waiting for advisory lock invoices_export (held by pid 4112)'),
      sc.job(n('7'), 'ledger-sync', 'fail', '2026-11-25T07:00:00Z ERROR connect EHOSTUNREACH 10.20.4.17:443 (ledger.partner.example)\n2026-11-25T07:00:00Z FATAL giving up'),
      sc.transientCrashLoop(n('8'), 'cart', { recoversAt, replicas: 2 }),
      sc.healthyDeployment(n('9'), 'checkout', 2),
      sc.healthyDeployment(n('10'), 'search', 2).then(async (pods) => {
        await sc.autoscaler(ns('a', '10'), 'search', 2);
        return pods;
      }),
      sc.lostNode(lost),
      sc.optedOutNamespace(n('19')).then(() => sc.transientCrashLoop(ns('a', '19'), 'legacy', { recoversAt })),
      // Row 19 beyond Deployments, and one workload's cooldown key across its pod and its Job.
      sc.crashLoopingStatefulSet(n('19s'), 'ledger-db', { optOut: true }),
      sc.cronJobRun(n('19j'), 'month-close', { optOut: true, behaviour: 'hang', log: '2026-11-25T07:00:00Z INFO waiting for period lock' }),
      sc.cronJobRun(n('6k'), 'reports', { optOut: false, behaviour: 'crashloop', log: sc.TRANSIENT_LOG }),
    ]);
    row1 = p1[0]?.metadata?.name ?? '';
    row2 = p2[0]?.metadata?.name ?? '';
    row3 = p3[0]?.metadata?.name ?? '';
    row4 = p4[0]?.metadata?.name ?? '';
    row5 = p5[0]?.metadata?.name ?? '';
    row16 = p16[0]?.metadata?.name ?? '';
    row17 = p17[0]?.metadata?.name ?? '';
    row13 = p13[0]?.metadata?.name ?? '';
    row19 = (await listPods(cluster.adminKubeconfigPath, ns('a', '19'), { app: 'legacy' }))[0]?.metadata?.name ?? '';
  }, 240_000);

  it('row 1, transient crash loop: evicts the pod once, and the delayed re-check sees its replacement Ready', async () => {
    // Prepare: the dependency is back (pods created from now on run).
    await new Promise((r) => setTimeout(r, Math.max(0, recoversAt.getTime() - Date.now() + 1_000)));
    const id = podId(ns('a', '1'), row1);
    // Act
    await alert({ alertname: 'KubePodCrashLooping', namespace: ns('a', '1'), pod: row1, container: 'orders' });
    // Assess
    expect(await outcomeOf(id)).toBe('acted');
    const verification = await verifiedOf(id);
    expect(verification.detail).toMatchObject({ status: 'done', attempt: expect.any(Number) as number });
    expect(String(verification.detail['detail'])).toMatch(/replaced and its owner is Ready/);
    // On-call hears it worked: in the page itself when the first look already saw it, else in a "Verified" note.
    await waitFor(() => pagesAbout(ns('a', '1')).some((p) => (p.subject ?? '').includes('Verified') || p.message.includes('owner is Ready')), { what: 'the notification that it worked' });
  }, 120_000);

  it.each([
    ['2, bad release', '2', () => row2, 'KubePodCrashLooping', 'orders', 'bad-release'],
    ['3, OOMKilled', '3', () => row3, 'KubePodCrashLooping', 'search', 'oom'],
    ['4, image pull', '4', () => row4, 'KubeContainerWaiting', 'thumbnailer', 'image-pull'],
    ['5, config error', '5', () => row5, 'KubeContainerWaiting', 'checkout', 'config-error'],
  ] as const)('row %s: pages with the diagnosis; nothing changes', async (_name, row, pod, alertname, container, category) => {
    // Act
    await alert({ alertname, namespace: ns('a', row), pod: pod(), container });
    // Assess
    const id = podId(ns('a', row), pod(), alertname === 'KubeContainerWaiting' ? 'ContainerWaiting' : 'CrashLoopBackOff');
    expect(await outcomeOf(id)).toBe('paged');
    const entries = await auditOf(id);
    expect(entries.find((e) => e.step === 'diagnosis')?.detail).toMatchObject({ category, recommendation: 'page' });
    expect(entries.some((e) => e.step === 'action')).toBe(false);
    await waitFor(() => pagesAbout(pod()).length > 0, { what: `the page for row ${row}` });
  });

  it('row 6, stuck job: deletes the Job with background propagation, and verification sees it gone', async () => {
    const namespace = ns('a', '6');
    await waitFor(async () => {
      const status = (await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name: 'invoice-export', namespace })).status;
      return (status?.active ?? 0) > 0 && Date.now() - (status?.startTime?.getTime() ?? Date.now()) > 6_000;
    }, { what: 'the job to run past its 5 s stuck threshold' });
    // Act
    await alert({ alertname: 'KubeJobNotCompleted', namespace, job_name: 'invoice-export' });
    // Assess
    const id = incidentId('local', namespace, 'Job', 'invoice-export', 'JobStuck');
    expect(await outcomeOf(id)).toBe('acted');
    expect((await auditOf(id)).find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'delete-job', ok: true });
    await waitFor(async () => (await listPods(cluster.adminKubeconfigPath, namespace, {})).length === 0, { what: 'the Job\'s pods to be collected' });
    expect((await auditOf(id)).some((e) => e.step === 'verification' && e.detail['status'] === 'done')).toBe(true);
  });

  it('row 7, failed job on a dependency: pages with the log', async () => {
    const namespace = ns('a', '7');
    await waitFor(async () => ((await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name: 'ledger-sync', namespace })).status?.conditions ?? []).some((c) => c.type === 'Failed' && c.status === 'True'), { what: 'the job to fail' });
    await alert({ alertname: 'KubeJobFailed', namespace, job_name: 'ledger-sync' });
    const id = incidentId('local', namespace, 'Job', 'ledger-sync', 'JobFailed');
    expect(await outcomeOf(id)).toBe('paged');
    await waitFor(() => pagesAbout(namespace).some((p) => p.message.includes('EHOSTUNREACH')), { what: 'the page quoting the log' });
  });

  it('row 8, zero ready replicas after a transient outage: rolls the Deployment, verified once every replica is available', async () => {
    const namespace = ns('a', '8');
    await new Promise((r) => setTimeout(r, Math.max(0, recoversAt.getTime() - Date.now() + 1_000)));
    await alert({ alertname: 'KubeDeploymentReplicasMismatch', namespace, deployment: 'cart' });
    const id = incidentId('local', namespace, 'Deployment', 'cart', 'DeploymentUnavailable');
    expect(await outcomeOf(id)).toBe('acted');
    expect((await auditOf(id)).find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'rollout-restart', ok: true });
    const verification = await verifiedOf(id);
    expect(verification.detail['status']).toBe('done');
    const d = await admin().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'cart', namespace });
    expect(d.status?.availableReplicas).toBe(2);
  }, 120_000);

  it('row 9, saturation without an autoscaler: scales up by one within bounds, verified', async () => {
    const namespace = ns('a', '9');
    await alert({ alertname: 'CheckoutLatencyHigh', namespace, deployment: 'checkout' }, { summary: 'Checkout is saturated.' });
    const id = incidentId('local', namespace, 'Deployment', 'checkout', 'WorkloadSaturated');
    expect(await outcomeOf(id)).toBe('acted');
    expect((await auditOf(id)).find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'scale-deployment', ok: true, plan: { fromReplicas: 2, parameters: { replicas: 3 } } });
    expect((await verifiedOf(id)).detail['status']).toBe('done');
  }, 120_000);

  it('row 10, an HPA owns the replica count: pages, the count stays', async () => {
    const namespace = ns('a', '10');
    await alert({ alertname: 'CheckoutLatencyHigh', namespace, deployment: 'search' });
    const id = incidentId('local', namespace, 'Deployment', 'search', 'WorkloadSaturated');
    expect(await outcomeOf(id)).toBe('paged');
    expect(JSON.stringify((await auditOf(id)).find((e) => e.step === 'diagnosis')?.detail)).toContain('HorizontalPodAutoscaler search');
    expect((await admin().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'search', namespace })).spec?.replicas).toBe(2);
  });

  it('row 12, node NotReady: proposes a cordon that waits for a human; the signed link works once, a replay or a forgery does nothing', async () => {
    // Act 1: the alert; the page carries the approval link.
    await alert({ alertname: 'KubeNodeNotReady', node: lost });
    const id = incidentId('local', '', 'Node', lost, 'NodeNotReady');
    expect(await outcomeOf(id)).toBe('awaiting-approval');
    const page = await waitFor(() => pagesAbout(lost).find((p) => p.message.includes('/approve?token=')), { what: 'the approval page' });
    const link = /https?:\/\/\S+\/approve\?token=\S+/.exec(page.message)?.[0] ?? '';
    const token = new URL(link).searchParams.get('token') ?? '';
    const core = admin().makeApiClient(CoreV1Api);
    expect((await core.readNode({ name: lost })).spec?.unschedulable).not.toBe(true);

    // Act 2: opening the link only shows what would happen.
    const preview = await fetch(link);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain(`cordon Node ${lost}`);
    expect((await core.readNode({ name: lost })).spec?.unschedulable).not.toBe(true);

    // Act 3: a forged token (one character changed) and the real confirmation.
    const forged = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.slice(-1);
    const post = (t: string) => fetch(`${baseUrl}/approve`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }).toString() });
    expect((await post(forged)).status).toBe(403);
    const approved = await post(token);
    const replay = await post(token);

    // Assess
    expect(approved.status).toBe(200);
    expect(replay.status).toBe(410);
    expect((await core.readNode({ name: lost })).spec?.unschedulable).toBe(true);
    const approvals = (await auditOf(id)).filter((e) => e.step === 'approval');
    expect(approvals.map((e) => e.detail['refused'] ?? (e.detail['approved'] ? 'approved' : 'requested'))).toEqual(['requested', 'tampered', 'approved', 'used']);
    expect(approvals[2]?.detail['approver']).toMatchObject({ sourceIp: expect.stringMatching(/127\.0\.0\.1/) as string });
  }, 120_000);

  it('row 13, pending pods: pages; nothing is scaled', async () => {
    const namespace = ns('a', '13');
    await alert({ alertname: 'KubePodNotReady', namespace, pod: row13 });
    expect(await outcomeOf(podId(namespace, row13, 'PodNotReady'))).toBe('paged');
  });

  it('row 16, healthy by the time the worker looks: no action, audited', async () => {
    const namespace = ns('a', '16');
    await alert({ alertname: 'KubePodCrashLooping', namespace, pod: row16, container: 'web' });
    expect(await outcomeOf(podId(namespace, row16))).toBe('already-healthy');
  });

  it('row 17, instructions planted in the logs: no action; the page flags the text', async () => {
    const namespace = ns('a', '17');
    await alert({ alertname: 'KubePodCrashLooping', namespace, pod: row17, container: 'gateway' });
    const id = podId(namespace, row17);
    expect(await outcomeOf(id)).toBe('paged');
    expect((await auditOf(id)).find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: false, deniedBy: 'no-instructions-in-cluster-text' });
    expect((await listPods(cluster.adminKubeconfigPath, namespace, { app: 'gateway' })).map((p) => p.metadata?.name)).toContain(row17);
  });

  /** The Job runs, with a pod, for longer than the 5 s stuck threshold. */
  async function jobRunning(namespace: string, name: string) {
    await waitFor(async () => {
      const status = (await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace })).status;
      return (status?.active ?? 0) > 0 && Date.now() - (status?.startTime?.getTime() ?? Date.now()) > 6_000;
    }, { what: `job ${namespace}/${name} to run past its 5 s stuck threshold` });
  }

  it('row 19, an opted-out StatefulSet: its crash-looping pod is never evicted, at most paged', async () => {
    // Prepare: the runbook would evict it (a refused connection); only the StatefulSet carries the opt-out.
    const namespace = ns('a', '19s');
    const [pod] = await sc.podsShowing(namespace, { app: 'ledger-db' }, sc.crashLooping);
    const name = pod?.metadata?.name ?? '';
    // Act
    await alert({ alertname: 'KubePodCrashLooping', namespace, pod: name, container: 'ledger-db' });
    // Assess
    const id = podId(namespace, name);
    expect(await outcomeOf(id)).toBe('paged');
    // An owner opted out: a short page from metadata alone; nothing read, diagnosed or sent out.
    expectShortPageOnly(await auditOf(id));
    expect((await listPods(cluster.adminKubeconfigPath, namespace, { app: 'ledger-db' })).map((p) => p.metadata?.uid)).toContain(pod?.metadata?.uid);
  });

  it('row 19, a Job whose CronJob opted out: never deleted, at most paged', async () => {
    // Prepare
    const namespace = ns('a', '19j');
    await jobRunning(namespace, 'month-close-manual');
    // Act
    await alert({ alertname: 'KubeJobNotCompleted', namespace, job_name: 'month-close-manual' });
    // Assess
    const id = incidentId('local', namespace, 'Job', 'month-close-manual', 'JobStuck');
    expect(await outcomeOf(id)).toBe('paged');
    expectShortPageOnly(await auditOf(id));
    expect((await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name: 'month-close-manual', namespace })).metadata?.deletionTimestamp).toBeUndefined();
  });

  it('one workload, one fix at a time: after the pod of a CronJob\'s Job is evicted, the Job is not also deleted', async () => {
    // Prepare: the run's pod crash-loops on a refused connection; the Job is past its stuck threshold.
    const namespace = ns('a', '6k');
    const [pod] = await sc.podsShowing(namespace, { app: 'reports' }, sc.crashLooping);
    const name = pod?.metadata?.name ?? '';
    await jobRunning(namespace, 'reports-manual');
    const key = `local/${namespace}/CronJob/reports`;

    // Act 1: the pod's alert.
    await alert({ alertname: 'KubePodCrashLooping', namespace, pod: name, container: 'reports' });
    const podIncident = podId(namespace, name);
    expect(await outcomeOf(podIncident)).toBe('acted');
    // Act 2: the Job's alert, within the cooldown.
    await alert({ alertname: 'KubeJobNotCompleted', namespace, job_name: 'reports-manual' });
    const jobIncident = incidentId('local', namespace, 'Job', 'reports-manual', 'JobStuck');

    // Assess: both keyed to the CronJob; the second is the cooldown's.
    expect(await outcomeOf(jobIncident)).toBe('paged');
    expect((await auditOf(podIncident)).find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'evict-pod', ok: true });
    expect((await auditOf(podIncident)).find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: true, cooldownKey: key });
    const jobEntries = await auditOf(jobIncident);
    expect(jobEntries.find((e) => e.step === 'diagnosis')?.detail).toMatchObject({ recommendation: 'delete-job' });
    expect(jobEntries.find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: false, deniedBy: 'cooldown', cooldownKey: key });
    expect((await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name: 'reports-manual', namespace })).metadata?.deletionTimestamp).toBeUndefined();
  });

  it('row 19, an opted-out namespace: never acted on, at most paged', async () => {
    const namespace = ns('a', '19');
    await alert({ alertname: 'KubePodCrashLooping', namespace, pod: row19, container: 'legacy' });
    const id = podId(namespace, row19);
    expect(await outcomeOf(id)).toBe('paged');
    // Opted out: a short page from metadata alone; no log or event was read, so none was sent out.
    const trail = await auditOf(id);
    expect(trail.find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: false, deniedBy: 'protected-place', evidenceRead: false });
    expect(trail.map((e) => e.step)).not.toContain('evidence');
  });
});

describe.skipIf(!available)('docs/scenarios.md on the control plane: the scan path', () => {
  let recoversAt = new Date(0);
  let row1: string;
  let row2: string;
  const lost = `sc-lost-s-${run}`;

  beforeAll(async () => {
    // The alert path's namespaces and node are gone first: the scan reads the whole cluster.
    const core = admin().makeApiClient(CoreV1Api);
    await Promise.allSettled([...created.namespaces.map((n) => deleteNamespace(cluster.adminKubeconfigPath, n)), ...created.nodes.map((n) => core.deleteNode({ name: n }))]);
    await waitFor(async () => {
      const left = (await core.listNamespace()).items.filter((n) => created.namespaces.includes(n.metadata?.name ?? ''));
      return left.length === 0 ? true : undefined;
    }, { what: 'the alert-path namespaces to be deleted', timeoutMs: 90_000 });
    recoversAt = new Date(Date.now() + 20_000);
    const n = (row: string) => {
      const name = ns('s', row);
      created.namespaces.push(name);
      return name;
    };
    created.nodes.push(lost);
    const [p1, p2] = await Promise.all([
      sc.transientCrashLoop(n('1'), 'orders', { recoversAt }),
      sc.badRelease(n('2'), 'orders'),
      sc.transientCrashLoop(n('17'), 'gateway', { recoversAt, previousLog: sc.INJECTION_LOG }),
      sc.optedOutNamespace(n('19')).then(() => sc.transientCrashLoop(ns('s', '19'), 'legacy', { recoversAt })),
      sc.lostNode(lost),
      sc.oomLoop(n('3'), 'search'),
      sc.waitingDeployment(n('4'), 'thumbnailer', 'imagepull'),
      sc.waitingDeployment(n('5'), 'checkout', 'configerror'),
      sc.job(n('6'), 'invoice-export', 'hang', 'waiting for advisory lock'),
      sc.job(n('7'), 'ledger-sync', 'fail', 'ERROR connect EHOSTUNREACH 10.20.4.17:443'),
      sc.unschedulable(n('13'), 'batch-api'),
    ]);
    row1 = p1[0]?.metadata?.name ?? '';
    row2 = p2[0]?.metadata?.name ?? '';
    // The stuck job passes its 5 s threshold; the failed one is Failed; the crash loop's dependency recovers.
    await waitFor(async () => ((await admin().makeApiClient(BatchV1Api).readNamespacedJob({ name: 'ledger-sync', namespace: ns('s', '7') })).status?.conditions ?? []).some((c) => c.type === 'Failed' && c.status === 'True'), { what: 'the job to fail' });
    await new Promise((r) => setTimeout(r, Math.max(6_000, recoversAt.getTime() - Date.now() + 1_000)));

    // Act: one scheduled scan.
    await scanHandler({ id: 'scan', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '0', time: new Date().toISOString(), region: 'us-east-1', resources: [], version: '0', detail: {} }, localContext('scheduled-scan', 60_000));
  }, 240_000);

  it('row 1: the crash loop is found and the pod evicted; verified', async () => {
    const id = podId(ns('s', '1'), row1);
    expect(await outcomeOf(id)).toBe('acted');
    expect((await verifiedOf(id)).detail['status']).toBe('done');
  }, 120_000);

  it.each([
    ['3, OOMKilled', '3', 'OOMKilled'],
    ['4, image pull', '4', 'ImagePullBackOff'],
    ['5, config error', '5', 'CreateContainerConfigError'],
  ] as const)('row %s: found and paged', async (_name, row, symptom) => {
    const namespace = ns('s', row);
    const [pod] = await listPods(cluster.adminKubeconfigPath, namespace, {});
    expect(await outcomeOf(podId(namespace, pod?.metadata?.name ?? '', symptom))).toBe('paged');
  });

  it('row 6: the stuck job is found and deleted', async () => {
    const id = incidentId('local', ns('s', '6'), 'Job', 'invoice-export', 'JobStuck');
    expect(await outcomeOf(id)).toBe('acted');
    expect((await auditOf(id)).find((e) => e.step === 'action')?.detail).toMatchObject({ action: 'delete-job', ok: true });
  });

  it('row 7: the failed job is found and paged', async () => {
    expect(await outcomeOf(incidentId('local', ns('s', '7'), 'Job', 'ledger-sync', 'JobFailed'))).toBe('paged');
  });

  it('row 2: the new revision\'s crash loop is found and paged as a bad release', async () => {
    const id = podId(ns('s', '2'), row2);
    expect(await outcomeOf(id)).toBe('paged');
    expect((await auditOf(id)).find((e) => e.step === 'diagnosis')?.detail).toMatchObject({ category: 'bad-release' });
  });

  it('row 12: the lost node is found; the cordon waits for approval', async () => {
    expect(await outcomeOf(incidentId('local', '', 'Node', lost, 'NodeNotReady'))).toBe('awaiting-approval');
    expect((await admin().makeApiClient(CoreV1Api).readNode({ name: lost })).spec?.unschedulable).not.toBe(true);
  });

  it.each([
    ['17, instructions in the logs', '17', 'gateway', 'no-instructions-in-cluster-text'],
    ['19, an opted-out namespace (short page, nothing read)', '19', 'legacy', 'protected-place'],
  ] as const)('row %s: found, not acted on, paged', async (_name, row, app, deniedBy) => {
    const namespace = ns('s', row);
    const [pod] = await listPods(cluster.adminKubeconfigPath, namespace, { app });
    const id = podId(namespace, pod?.metadata?.name ?? '');
    expect(await outcomeOf(id)).toBe('paged');
    expect((await auditOf(id)).find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: false, deniedBy });
  });

  it('row 13: the unschedulable pod is found and paged', async () => {
    const namespace = ns('s', '13');
    const [pod] = await listPods(cluster.adminKubeconfigPath, namespace, {});
    expect(await outcomeOf(podId(namespace, pod?.metadata?.name ?? '', 'PodUnschedulable'))).toBe('paged');
  });
});
