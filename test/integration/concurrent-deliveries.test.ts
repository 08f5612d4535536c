/**
 * At-least-once delivery and alert storms must never become two fixes. Fifty workers, each with
 * its own adapters as fifty Lambda containers would have (scoped ServiceAccount, DynamoDB Local,
 * moto SNS), run remediate() at the same moment with dry run off, on a crash-looping pod whose
 * previous log says "connection refused" (the runbook proposes evict-pod):
 *   - the same incident fifty times: the incident lock lets one through;
 *   - fifty incidents, one per pod of one Deployment: the owner claim lets one through;
 *   - the same, with owner grouping switched off: the cooldown, started before acting with a
 *     conditional write, still lets only one act.
 * Evictions are counted twice: in the audit trail and in the cluster (pod uids, ReplicaSet creations).
 */
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import type { AuditEntry, Incident } from '../../lib/domain/types.js';
import { remediate, type RemediateDeps, type RemediationReport } from '../../lib/pipeline/remediate.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import {
  acquireControlPlane,
  controlPlaneAvailable,
  createCrashLoopingDeployment,
  deleteNamespace,
  listPods,
  waitFor,
  type ClusterInfo,
} from '../support/control-plane.js';
import {
  auditOf,
  CONNECTION_REFUSED_LOG,
  crashLoopIncident,
  podsCreatedByReplicaSets,
  waitForCrashLoopingPods,
} from '../support/crashloop-incidents.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';

const WORKERS = 50;
const suffix = randomBytes(3).toString('hex');
const namespaces = { oneIncident: `deliveries-one-${suffix}`, oneOwner: `deliveries-owner-${suffix}`, cooldownOnly: `deliveries-cooldown-${suffix}` };

let cluster: ClusterInfo;
let release: () => Promise<void>;
let env: HealerEnv;

/** One set of adapters per worker, like separate Lambda containers (no shared in-memory state). */
async function fiftyWorkers(vars: Record<string, string> = {}): Promise<RemediateDeps[]> {
  return Promise.all(Array.from({ length: WORKERS }, async () => workerDeps(loadConfig({ ...process.env, ...vars }), { diagnoser: runbookDiagnoser })));
}

/** Starts every delivery before awaiting any, so they really overlap. */
function deliverAtOnce(incidents: readonly Incident[], workers: readonly RemediateDeps[]): Promise<RemediationReport[]> {
  return Promise.all(incidents.map((incident, i) => remediate(incident, workers[i]!)));
}

const countBy = (reports: readonly RemediationReport[]) =>
  reports.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.outcome]: (acc[r.outcome] ?? 0) + 1 }), {});

const live = (pods: readonly V1Pod[]) => pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
const uids = (pods: readonly V1Pod[]) => new Set(pods.map((p) => p.metadata?.uid ?? ''));

/** Waits until the ReplicaSet has replaced what was evicted; returns which original uids are gone and which uids are new. */
async function replacementsOf(namespace: string, selector: Record<string, string>, before: ReadonlySet<string>) {
  return waitFor(async () => {
    const now = live(await listPods(cluster.adminKubeconfigPath, namespace, selector));
    const gone = [...before].filter((uid) => !uids(now).has(uid));
    const fresh = [...uids(now)].filter((uid) => !before.has(uid));
    return gone.length > 0 && now.length === before.size ? { gone, fresh } : undefined;
  }, { what: `the evicted pod in ${namespace} to be replaced`, timeoutMs: 60_000 });
}

/** Notifications about one namespace, read back through the SNS -> SQS subscription (others are dropped). */
async function notificationsFor(namespace: string, atMost: number, timeoutMs: number) {
  return (await env.inbox.receive(atMost, timeoutMs)).filter((n) => n.attributes.namespace === namespace);
}

async function actionEntries(ids: readonly string[]): Promise<AuditEntry[]> {
  const all = await Promise.all(ids.map((id) => auditOf(env, id)));
  return all.flat().filter((e) => e.step === 'action');
}

describe.skipIf(!controlPlaneAvailable())('fifty concurrent deliveries', () => {
  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' });
  }, 180_000);

  afterAll(async () => {
    if (cluster) await Promise.all(Object.values(namespaces).map((ns) => deleteNamespace(cluster.adminKubeconfigPath, ns)));
    await env?.stop();
    await release?.();
  });

  it('of one incident: exactly one eviction and one notification; the other 49 are duplicates', async () => {
    // Prepare
    const namespace = namespaces.oneIncident;
    const app = await createCrashLoopingDeployment({ namespace, name: 'web', previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 5 });
    const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, 1);
    const incident = crashLoopIncident(namespace, pod!.metadata!.name!);
    const workers = await fiftyWorkers();

    // Act
    const reports = await deliverAtOnce(Array.from({ length: WORKERS }, () => incident), workers);

    // Assess: one worker handled it, the rest found it locked or done.
    expect(countBy(reports)).toEqual({ acted: 1, duplicate: WORKERS - 1 });
    const entries = await auditOf(env, incident.id);
    expect(entries.filter((e) => e.step === 'intake')).toHaveLength(1);
    const actions = entries.filter((e) => e.step === 'action');
    expect(actions).toHaveLength(1);
    expect(actions[0]?.detail).toMatchObject({ action: 'evict-pod', ok: true, target: { uid: pod!.metadata!.uid } });
    // In the cluster: the original pod is gone and its ReplicaSet made exactly one replacement.
    const { gone, fresh } = await replacementsOf(namespace, app.selector, uids([pod!]));
    expect(gone).toEqual([pod!.metadata!.uid]);
    expect(fresh).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2_000)); // room for a second eviction to show, if there were one
    expect(await podsCreatedByReplicaSets(cluster.adminKubeconfigPath, namespace)).toHaveLength(2);
    expect(uids(live(await listPods(cluster.adminKubeconfigPath, namespace, app.selector)))).toEqual(new Set(fresh));
    // On-call hears about it once.
    const notifications = await notificationsFor(namespace, WORKERS, 5_000);
    expect(notifications.map((n) => n.attributes.outcome)).toEqual(['acted']);
    expect(notifications[0]?.subject).toContain(pod!.metadata!.name!);
  }, 180_000);

  it('of fifty incidents for pods of one Deployment: the owner claim makes it one eviction and one notification', async () => {
    // Prepare
    const namespace = namespaces.oneOwner;
    const app = await createCrashLoopingDeployment({ namespace, name: 'api', replicas: WORKERS, previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 10 });
    const pods = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, WORKERS, 150_000);
    const incidents = pods.map((p) => crashLoopIncident(namespace, p.metadata!.name!));
    const workers = await fiftyWorkers();

    // Act
    const reports = await deliverAtOnce(incidents, workers);

    // Assess: one acted; the others were grouped into it. Under this load the API server can shed
    // a read: an owner chain cut short names another workload key, so that incident is not grouped,
    // and its decision is denied for the unreadable chain (fail closed) and paged.
    console.info(`outcomes with owner grouping on: ${JSON.stringify(countBy(reports))}`);
    expect(reports.filter((r) => r.outcome === 'acted')).toHaveLength(1);
    const unreadable = reports.filter((r) => r.outcome !== 'acted' && r.outcome !== 'duplicate');
    for (const r of unreadable) {
      expect(r.outcome, r.incidentId).toBe('paged');
      expect(r.decision?.reason, r.incidentId).toMatch(/could not be read|unknown|unreadable/);
    }
    const holder = reports.find((r) => r.outcome === 'acted')!.incidentId;
    const duplicates = reports.filter((r) => r.outcome === 'duplicate').map((r) => r.incidentId);
    expect(duplicates.length + unreadable.length).toBe(WORKERS - 1);
    const grouped = await Promise.all(duplicates.map(async (id) => (await auditOf(env, id)).find((e) => e.step === 'outcome')?.detail));
    expect(grouped.every((d) => d?.groupedInto === holder)).toBe(true);
    const actions = await actionEntries(incidents.map((i) => i.id));
    expect(actions.map((e) => e.incidentId)).toEqual([holder]);
    const { gone, fresh } = await replacementsOf(namespace, app.selector, uids(pods));
    expect(gone).toHaveLength(1);
    expect(fresh).toHaveLength(1);
    expect(gone[0]).toBe(pods.find((p) => crashLoopIncident(namespace, p.metadata!.name!).id === holder)?.metadata?.uid);
    const notifications = await notificationsFor(namespace, WORKERS, 5_000);
    expect(notifications.map((n) => n.attributes.outcome).sort()).toEqual(['acted', ...unreadable.map(() => 'paged')].sort());
  }, 300_000);

  it('of fifty incidents for pods of one Deployment with owner grouping off: the cooldown alone still allows one eviction', async () => {
    // Prepare: HEALER_GROUP_WINDOW_SECONDS=0: an owner claim lasts no time, so most incidents reach the decision.
    const namespace = namespaces.cooldownOnly;
    const app = await createCrashLoopingDeployment({ namespace, name: 'api', replicas: WORKERS, previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 10 });
    const pods = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, WORKERS, 150_000);
    const incidents = pods.map((p) => crashLoopIncident(namespace, p.metadata!.name!));
    const workers = await fiftyWorkers({ HEALER_GROUP_WINDOW_SECONDS: '0' });

    // Act
    const reports = await deliverAtOnce(incidents, workers);

    // Assess: more than one incident got past the (zero-length) owner claim to a decision; one
    // acted, and each other one either lost the race to start the cooldown (no-action, its decision
    // allowed) or saw the cooldown already running and was denied by it (paged).
    const decided = reports.filter((r) => r.outcome !== 'duplicate');
    console.info(`outcomes with owner grouping off: ${JSON.stringify(countBy(reports))}`);
    expect(decided.length).toBeGreaterThan(1);
    expect(decided.filter((r) => r.outcome === 'acted')).toHaveLength(1);
    for (const r of decided.filter((x) => x.outcome !== 'acted')) {
      // Under load a read can fail (the API server sheds requests); that denies too (fail closed).
      if (r.outcome === 'paged' && r.decision?.deniedBy !== 'cooldown') expect(r.decision?.reason, r.incidentId).toMatch(/could not be read|unknown|unreadable/);
      else if (r.outcome === 'paged') expect(r.decision, r.incidentId).toMatchObject({ allowed: false, deniedBy: 'cooldown' });
      else expect({ outcome: r.outcome, allowed: r.decision?.allowed }, r.incidentId).toEqual({ outcome: 'no-action', allowed: true });
    }
    const actions = await actionEntries(incidents.map((i) => i.id));
    expect(actions.filter((e) => e.detail.ok === true)).toHaveLength(1);
    expect(actions.filter((e) => e.detail.ok !== true).map((e) => e.detail.skipped)).toEqual(
      decided.filter((r) => r.outcome === 'no-action').map(() => 'another worker started the cooldown first'),
    );
    const { gone, fresh } = await replacementsOf(namespace, app.selector, uids(pods));
    expect(gone).toHaveLength(1);
    expect(fresh).toHaveLength(1);
    // Every incident that reached a decision is reported, and exactly one says a fix was made.
    const notifications = await notificationsFor(namespace, WORKERS + 1, 10_000);
    expect(notifications).toHaveLength(decided.length);
    expect(notifications.filter((n) => n.attributes.outcome === 'acted')).toHaveLength(1);
  }, 300_000);
});
