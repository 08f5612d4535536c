import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import {
  BEHAVIOUR_LABEL,
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  deleteNamespace,
  ensureNamespace,
  listPods,
  serveNamespaceLogs,
  startControlPlane,
  waitFor,
  type ClusterInfo,
  type ControlPlane,
} from '../support/control-plane.js';
import { TRANSIENT_LOG, crashLooping } from '../support/scenario-workloads.js';
import { serveHttpApi } from '../../lib/local/http-api.js';
import { pollQueue } from '../../lib/local/sqs-poller.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { SqsIncidentQueue } from '../../lib/adapters/sqs-queue.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { AuditEntry, Incident } from '../../lib/domain/types.js';

/**
 * Many clusters, one stack, on two real control planes (two etcd + kube-apiserver + controllers +
 * kwok, each on its own 127.0.0.1 ports). Both run the same StatefulSet `web` in the same
 * namespace, so pod `twins/web-0` crash-loops on both: the same alert name, namespace and pod
 * name. The webhook and worker Lambda handlers run on DynamoDB Local and moto, with the registry
 * naming each cluster's kubeconfig parameter (SSM SecureString, the healer's scoped identity).
 */
const NAMESPACE = 'twins';
const POD = 'web-0';
const CLUSTERS = { alpha: '/k8s-healer/test/alpha/kubeconfig', beta: '/k8s-healer/test/beta/kubeconfig' } as const;
type Name = keyof typeof CLUSTERS;

// Two clusters of our own: an existing cluster (TEST_KUBECONFIG) cannot be started twice.
const skipReason = !controlPlaneAvailable() ? 'no local control plane' : process.env.TEST_KUBECONFIG ? 'TEST_KUBECONFIG names one cluster; this test starts two' : undefined;

let alpha: ClusterInfo;
let releaseAlpha: () => Promise<void>;
let beta: ControlPlane;
let env: HealerEnv;
let webhookUrl: string;
let closeWebhook: () => Promise<void>;
let stopPoller: () => Promise<void>;
const clusterInfo = (name: Name): ClusterInfo => (name === 'alpha' ? alpha : beta);

const crashLoopAlert = (cluster: string) => ({
  status: 'firing',
  labels: { alertname: 'KubePodCrashLooping', cluster, namespace: NAMESPACE, pod: POD, container: 'web', severity: 'warning' },
  annotations: { summary: 'Pod is crash looping.' },
  startsAt: new Date().toISOString(),
});

async function postAlerts(clusters: readonly string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = { version: '4', groupKey: '{}:{alertname="KubePodCrashLooping"}', status: 'firing', receiver: 'k8s-healer', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, alerts: clusters.map(crashLoopAlert) };
  const response = await fetch(`${webhookUrl}/alerts`, { method: 'POST', headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const auditOf = (id: string): Promise<AuditEntry[]> => new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(id);

/** The outcome entry of the run that started at `since` (an incident id recurs once its dedup window passed). */
async function outcomeSince(id: string, since: string): Promise<AuditEntry | undefined> {
  return (await auditOf(id)).find((e) => e.step === 'outcome' && e.at >= since);
}

async function crashLoopingPod(name: Name): Promise<V1Pod> {
  return waitFor(async () => (await listPods(clusterInfo(name).adminKubeconfigPath, NAMESPACE, { app: 'web' })).find((p) => p.metadata?.name === POD && crashLooping(p)), {
    what: `${POD} to crash-loop on ${name}`,
    timeoutMs: 90_000,
  });
}

async function podUid(name: Name): Promise<string | undefined> {
  const pods = await listPods(clusterInfo(name).adminKubeconfigPath, NAMESPACE, { app: 'web' });
  return pods.find((p) => p.metadata?.name === POD && !p.metadata.deletionTimestamp)?.metadata?.uid;
}

async function cooldownExists(key: string): Promise<boolean> {
  const { Item } = await env.dynamo.client().send(new GetItemCommand({ TableName: env.tables.state, Key: { pk: { S: `cooldown#${key}` } }, ConsistentRead: true }));
  return Item !== undefined;
}

/** The same StatefulSet on a cluster: its pod web-0 crash-loops on a refused connection (a restart may help). */
async function crashLoopingStatefulSet(cluster: ClusterInfo): Promise<void> {
  await ensureNamespace(cluster.adminKubeconfigPath, NAMESPACE);
  await serveNamespaceLogs({ namespace: NAMESPACE, name: 'web', container: 'web', current: '', previous: TRANSIENT_LOG, cluster });
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: NAMESPACE },
    spec: {
      serviceName: 'web',
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', [BEHAVIOUR_LABEL]: 'crashloop' }, annotations: { 'healer-test/crashloop-period': '2s' } },
        spec: { containers: [{ name: 'web', image: 'registry.example.com/web:1' }] },
      },
    },
  });
}

beforeAll(async () => {
  if (skipReason) return;
  ({ cluster: alpha, release: releaseAlpha } = await acquireControlPlane());
  beta = await startControlPlane({ register: false });
  env = await startHealerEnv({
    HEALER_CLUSTER_NAME: 'alpha',
    HEALER_CLUSTERS: JSON.stringify(Object.entries(CLUSTERS).map(([name, kubeconfigParam]) => ({ name, kubeconfigParam }))),
    HEALER_DRY_RUN: 'false',
    HEALER_COOLDOWN_SECONDS: '900',
    // An alert for web-0 again, later, is a new incident with the same id (the cooldown case).
    HEALER_DEDUP_WINDOW_SECONDS: '1',
    HEALER_GROUP_WINDOW_SECONDS: '1',
    HEALER_VERIFY_DELAY_SECONDS: '900',
  });
  // No default kubeconfig: each cluster is reached only through its own parameter.
  delete process.env.KUBECONFIG;
  for (const [name, param] of Object.entries(CLUSTERS) as [Name, string][]) {
    await env.moto.ssm().send(new PutParameterCommand({ Name: param, Type: 'SecureString', Value: readFileSync(clusterInfo(name).healerKubeconfigPath, 'utf8'), Overwrite: true }));
  }
  const webhook = await import('../../functions/alertmanager-webhook.js');
  const worker = await import('../../functions/remediate.js');
  ({ url: webhookUrl, close: closeWebhook } = await serveHttpApi({ 'POST /alerts': webhook.handler }));
  ({ stop: stopPoller } = pollQueue({ client: env.moto.sqs(), queueUrl: env.queueUrl, handler: worker.handler, waitSeconds: 1 }));
  await Promise.all([crashLoopingStatefulSet(alpha), crashLoopingStatefulSet(beta)]);
}, 300_000);

afterAll(async () => {
  if (alpha) await deleteNamespace(alpha.adminKubeconfigPath, NAMESPACE);
  await stopPoller?.();
  await closeWebhook?.();
  await env?.stop();
  await beta?.stop();
  await releaseAlpha?.();
});

describe.skipIf(skipReason !== undefined)('two clusters, one stack', () => {
  const ids = { alpha: incidentId('alpha', NAMESPACE, 'Pod', POD, 'CrashLoopBackOff'), beta: incidentId('beta', NAMESPACE, 'Pod', POD, 'CrashLoopBackOff') };

  it('acts on the cluster an alert names and only there; an alert for an unknown cluster is refused', async () => {
    // Prepare: web-0 crash-loops on both clusters
    const [alphaPod, betaPod] = await Promise.all([crashLoopingPod('alpha'), crashLoopingPod('beta')]);
    const since = new Date().toISOString();

    // Act: the alert for alpha, and the same alert for a cluster the stack does not serve
    const response = await postAlerts(['alpha', 'gamma']);

    // Assess: alpha's pod is evicted and replaced; beta's same-named pod is untouched
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ enqueued: 1, skippedByReason: { 'other-cluster': 1 } });
    expect(response.body['skipped']).toEqual(['KubePodCrashLooping is for cluster gamma, which is not one of alpha, beta']);
    const outcome = await waitFor(() => outcomeSince(ids.alpha, since), { what: 'alpha\'s outcome', timeoutMs: 60_000 });
    expect(outcome).toMatchObject({ outcome: 'acted', cluster: 'alpha' });
    const entries = await auditOf(ids.alpha);
    expect(entries.every((e) => e.cluster === 'alpha')).toBe(true);
    expect(entries.find((e) => e.step === 'action')?.detail).toMatchObject({ ok: true, target: { uid: alphaPod.metadata?.uid } });
    await waitFor(async () => (await podUid('alpha')) !== alphaPod.metadata?.uid || undefined, { what: 'alpha\'s web-0 to be replaced', timeoutMs: 60_000 });
    expect(await podUid('beta')).toBe(betaPod.metadata?.uid);
    expect(await auditOf(ids.beta)).toEqual([]);
    expect(await cooldownExists(`alpha/${NAMESPACE}/StatefulSet/web`)).toBe(true);
    expect(await cooldownExists(`beta/${NAMESPACE}/StatefulSet/web`)).toBe(false);
    const [page] = await env.inbox.receive(1, 10_000);
    expect(page?.attributes).toMatchObject({ outcome: 'acted', cluster: 'alpha', namespace: NAMESPACE });
  });

  it('acts on the other cluster despite the first one\'s cooldown on the same names, and the first stays in cooldown', async () => {
    // Prepare: both web-0 pods crash-loop (alpha's is the replacement)
    const [alphaPod, betaPod] = await Promise.all([crashLoopingPod('alpha'), crashLoopingPod('beta')]);
    // alpha's id is the first test's: past its 1 s dedup window, an alert for it is a new incident.
    const lastAlpha = (await auditOf(ids.alpha)).at(-1)?.at ?? new Date(0).toISOString();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(lastAlpha) + 1_500 - Date.now())));
    const since = new Date().toISOString();

    // Act: the same alert for both clusters in one payload
    const response = await postAlerts(['alpha', 'beta']);

    // Assess: beta acts (its cooldown is its own); alpha is denied by alpha's cooldown and paged
    expect(response.body).toMatchObject({ enqueued: 2 });
    const [alphaOutcome, betaOutcome] = await Promise.all([
      waitFor(() => outcomeSince(ids.alpha, since), { what: 'alpha\'s second outcome', timeoutMs: 60_000 }),
      waitFor(() => outcomeSince(ids.beta, since), { what: 'beta\'s outcome', timeoutMs: 60_000 }),
    ]);
    expect(betaOutcome).toMatchObject({ outcome: 'acted', cluster: 'beta' });
    expect(alphaOutcome).toMatchObject({ outcome: 'paged', cluster: 'alpha' });
    const alphaDecision = (await auditOf(ids.alpha)).filter((e) => e.step === 'decision' && e.at >= since).at(-1);
    expect(alphaDecision?.detail).toMatchObject({ allowed: false, deniedBy: 'cooldown', cooldownKey: `alpha/${NAMESPACE}/StatefulSet/web` });
    const betaEntries = await auditOf(ids.beta);
    expect(betaEntries.every((e) => e.cluster === 'beta')).toBe(true);
    expect(betaEntries.find((e) => e.step === 'action')?.detail).toMatchObject({ ok: true, target: { uid: betaPod.metadata?.uid } });
    await waitFor(async () => (await podUid('beta')) !== betaPod.metadata?.uid || undefined, { what: 'beta\'s web-0 to be replaced', timeoutMs: 60_000 });
    expect(await podUid('alpha')).toBe(alphaPod.metadata?.uid);
    expect(await cooldownExists(`beta/${NAMESPACE}/StatefulSet/web`)).toBe(true);
    const pages = await env.inbox.receive(2, 10_000);
    expect(pages.map((p) => [p.attributes['cluster'], p.attributes['outcome']]).sort()).toEqual([['alpha', 'paged'], ['beta', 'acted']]);
  });

  it('refuses a queue message for a cluster outside the registry: audited, paged, nothing read or changed', async () => {
    // Prepare: a well-formed incident naming cluster gamma, sent as anyone able to send to the queue could
    const [alphaUid, betaUid] = await Promise.all([podUid('alpha'), podUid('beta')]);
    const forged: Incident = {
      id: incidentId('gamma', NAMESPACE, 'Pod', POD, 'CrashLoopBackOff'),
      cluster: 'gamma',
      source: 'alertmanager',
      symptom: 'CrashLoopBackOff',
      subject: { kind: 'Pod', name: POD, namespace: NAMESPACE },
      severity: 'warning',
      labels: {},
      annotations: {},
      detectedAt: new Date().toISOString(),
    };

    // Act
    await new SqsIncidentQueue({ queueUrl: env.queueUrl, client: env.moto.sqs() }).enqueue([forged]);

    // Assess
    const outcome = await waitFor(async () => (await auditOf(forged.id)).find((e) => e.step === 'outcome'), { what: 'the refusal', timeoutMs: 30_000 });
    expect(outcome).toMatchObject({ outcome: 'paged', cluster: 'gamma' });
    const entries = await auditOf(forged.id);
    expect(entries.map((e) => e.step)).toEqual(['decision', 'outcome']);
    expect(entries[0]?.detail).toMatchObject({ allowed: false, deniedBy: 'unknown-cluster', evidenceRead: false });
    const page = await waitFor(async () => (await env.inbox.receive(1, 2_000)).find((p) => p.attributes['cluster'] === 'gamma'), { what: 'the page for gamma', timeoutMs: 15_000 });
    expect(page.subject).toBe('[k8s-healer] Unknown cluster gamma: nothing done');
    expect([await podUid('alpha'), await podUid('beta')]).toEqual([alphaUid, betaUid]);
  });
});
