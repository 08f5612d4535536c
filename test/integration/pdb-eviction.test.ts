/**
 * A PodDisruptionBudget that allows no disruption refuses the healer's eviction with 429, and the
 * healer reports it and never forces it (no delete, no retry around the budget). On the local
 * control plane, whose controller-manager runs the disruption controller and whose kwok marks
 * ordinary pods Ready (crash-looping ones never), with the healer's scoped ServiceAccount
 * (infra/rbac.yaml):
 *   - KubernetesActor.execute(evict-pod)Pod on a Ready pod whose budget needs every replica: ok=false, the
 *     budget named, the pod untouched; once the budget allows one, the same eviction is accepted;
 *   - remediate() on a crash-looping pod whose budget has no healthy pod to spare: the outcome is
 *     action-failed and on-call is paged with the refusal.
 */
import { randomBytes } from 'node:crypto';
import { KubernetesObjectApi, type KubernetesObject, type V1PodDisruptionBudget } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesActor } from '../../lib/adapters/kubernetes-actions.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { loadConfig } from '../../lib/config/config.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import { systemClock } from '../../lib/ports/index.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import {
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  createCrashLoopingDeployment,
  deleteNamespace,
  ensureNamespace,
  listPods,
  loadKubeConfig,
  waitFor,
  waitForReadyPods,
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

const REPLICAS = 2;

describe.skipIf(!controlPlaneAvailable())('a PodDisruptionBudget that allows no disruption', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;
  const namespace = `pdb-${randomBytes(3).toString('hex')}`;

  function budget(name: string, minAvailable: number) {
    return {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace },
      spec: { minAvailable, selector: { matchLabels: { app: name } } },
    };
  }

  /** Waits until the disruption controller has processed the budget's current spec and reports these numbers. */
  async function budgetStatus(name: string, want: { currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number }) {
    const objects = KubernetesObjectApi.makeApiClient(loadKubeConfig(cluster.adminKubeconfigPath));
    return waitFor(async () => {
      const pdb = await objects.read<V1PodDisruptionBudget & KubernetesObject>({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace } });
      const s = pdb.status;
      const processed = s !== undefined && s.observedGeneration === pdb.metadata?.generation;
      return processed && s.currentHealthy === want.currentHealthy && s.desiredHealthy === want.desiredHealthy && s.disruptionsAllowed === want.disruptionsAllowed ? pdb : undefined;
    }, { what: `PodDisruptionBudget ${namespace}/${name} status ${JSON.stringify(want)}`, timeoutMs: 60_000 });
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' });
    await ensureNamespace(cluster.adminKubeconfigPath, namespace);
  }, 180_000);

  afterAll(async () => {
    if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
    await env?.stop();
    await release?.();
  });

  it('refuses the healer\'s eviction (KubernetesActor, evict-pod) with the budget named, and nothing is forced', async () => {
    // Prepare: two Ready pods and a budget that needs both (minAvailable = replicas).
    await applyManifest(cluster.adminKubeconfigPath, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'cart', namespace },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: { app: 'cart' } },
          template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'registry.example.com/cart:2.1.0' }] } },
        },
      },
      budget('cart', REPLICAS),
    ]);
    const pods = await waitForReadyPods(cluster.adminKubeconfigPath, namespace, { app: 'cart' }, REPLICAS);
    await budgetStatus('cart', { currentHealthy: REPLICAS, desiredHealthy: REPLICAS, disruptionsAllowed: 0 });
    const pod = pods[0]!;
    const target = { kind: 'Pod', name: pod.metadata!.name!, namespace, uid: pod.metadata!.uid };
    const healer = new KubernetesActor(loadKubeConfig(cluster.healerKubeconfigPath), systemClock);
    const plan: ActionPlan = { action: 'evict-pod', target, parameters: {}, summary: `evict ${target.name}` };

    // Act
    const refused = await healer.execute(plan, { dryRun: false });
    const refusedDryRun = await healer.execute(plan, { dryRun: true });

    // Assess: reported as a PDB refusal with the API server's reason, for real and as a dry run.
    for (const result of [refused, refusedDryRun]) {
      expect(result).toMatchObject({ action: 'evict-pod', ok: false, target: { name: target.name, uid: target.uid } });
      expect(result.detail).toMatch(/^server-side dry run refused: PodDisruptionBudget refused the eviction; not forced \(HTTP 429: .*\)$/);
      // Which budget: the API server names it in the Status causes ("The disruption budget cart needs ...").
      expect(result.detail).toContain('disruption budget cart');
    }
    // Nothing forced: the same pod (same uid) is still there and not terminating, no replacement was made.
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await listPods(cluster.adminKubeconfigPath, namespace, { app: 'cart' });
    expect(after.find((p) => p.metadata?.uid === pod.metadata?.uid)?.metadata?.deletionTimestamp).toBeUndefined();
    expect(new Set(after.map((p) => p.metadata?.uid))).toEqual(new Set(pods.map((p) => p.metadata?.uid)));
    expect((await podsCreatedByReplicaSets(cluster.adminKubeconfigPath, namespace)).filter((m) => m.includes('cart-'))).toHaveLength(REPLICAS);

    // And it was the budget that said no: once it allows one disruption, the same call is accepted.
    await applyManifest(cluster.adminKubeconfigPath, budget('cart', REPLICAS - 1));
    await budgetStatus('cart', { currentHealthy: REPLICAS, desiredHealthy: REPLICAS - 1, disruptionsAllowed: 1 });
    expect(await healer.execute(plan, { dryRun: true })).toMatchObject({ ok: true });
  }, 120_000);

  it('through remediate(): the outcome is action-failed and on-call is paged with the refusal', async () => {
    // Prepare: a crash-looping Deployment (its pods are never Ready, so none is healthy to spare)
    // whose budget wants every replica available.
    const app = await createCrashLoopingDeployment({ namespace, name: 'checkout', replicas: REPLICAS, previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 5 });
    await applyManifest(cluster.adminKubeconfigPath, budget('checkout', REPLICAS));
    const pods = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, REPLICAS);
    await budgetStatus('checkout', { currentHealthy: 0, desiredHealthy: REPLICAS, disruptionsAllowed: 0 });
    const pod = pods[0]!;
    const incident = crashLoopIncident(namespace, pod.metadata!.name!);
    const deps = await workerDeps(loadConfig(), { diagnoser: runbookDiagnoser });

    // Act
    const report = await remediate(incident, deps);

    // Assess: policy allowed the eviction, the API server refused it, and that is the outcome.
    expect(report.diagnosis).toMatchObject({ recommendation: 'evict-pod' });
    expect(report.decision).toMatchObject({ allowed: true });
    expect(report.outcome).toBe('action-failed');
    expect(report.action).toMatchObject({ action: 'evict-pod', ok: false });
    expect(report.action?.detail).toMatch(/PodDisruptionBudget/);
    expect(report.action?.detail).toMatch(/HTTP 429/);
    expect(report.action?.detail).toContain('disruption budget checkout');
    const entries = await auditOf(env, incident.id);
    expect(entries.filter((e) => e.step === 'action').map((e) => e.detail.ok)).toEqual([false]);
    expect(entries.find((e) => e.step === 'outcome')?.outcome).toBe('action-failed');
    // Nothing forced.
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await listPods(cluster.adminKubeconfigPath, namespace, app.selector);
    expect(after.find((p) => p.metadata?.uid === pod.metadata?.uid)?.metadata?.deletionTimestamp).toBeUndefined();
    expect(new Set(after.map((p) => p.metadata?.uid))).toEqual(new Set(pods.map((p) => p.metadata?.uid)));
    // On-call is paged, and the page says the fix failed and why.
    const pages = (await env.inbox.receive(5, 5_000)).filter((n) => n.attributes.namespace === namespace);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.attributes).toMatchObject({ outcome: 'action-failed', severity: 'critical' });
    expect(pages[0]?.subject).toContain(pod.metadata!.name!);
    expect(pages[0]?.message).toContain('FAILED');
    expect(pages[0]?.message).toContain('PodDisruptionBudget');
    expect(pages[0]?.message).toContain('disruption budget checkout');
  }, 180_000);
});
