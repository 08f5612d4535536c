import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  BEHAVIOUR_LABEL,
  controlPlaneAvailable,
  deleteNamespace,
  ensureNamespace,
  KWOK_NODE_ANNOTATION,
  loadKubeConfig,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';
import { KubernetesActor, RESTARTED_AT } from '../../lib/adapters/kubernetes-actions.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { judge } from '../../lib/actions/verify.js';
import type { ActionClient } from '../../lib/actions/client.js';
import { systemClock } from '../../lib/ports/index.js';

/**
 * Every allowlisted action against the real kube-apiserver, as the healer's own ServiceAccount
 * (infra/rbac.yaml): server-side dry run first, then the change, pinned to uid and
 * resourceVersion; a stale plan is refused by the API (409), never applied; verification reads
 * what happened. Admin only prepares and inspects.
 */
const available = controlPlaneAvailable();
const kwokHere = !process.env.TEST_KUBECONFIG;

describe.skipIf(!available || !kwokHere)('allowlisted actions on the control plane (healer identity)', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let adminApps: AppsV1Api;
  let adminCore: CoreV1Api;
  let adminBatch: BatchV1Api;
  let actor: KubernetesActor;
  const ns = `actions-${randomBytes(3).toString('hex')}`;
  const nodeName = `healer-test-node-${randomBytes(3).toString('hex')}`;

  async function deployment(name: string, replicas: number) {
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }] } },
      },
    });
    await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: name }, replicas);
    return settled(name, replicas);
  }

  /**
   * The Deployment once its controller stopped writing: it writes status a moment after the pods
   * are Ready, and a plan made before that write is (rightly) refused with a 409.
   */
  function settled(name: string, replicas: number) {
    return waitFor(async () => {
      const d = await adminApps.readNamespacedDeployment({ name, namespace: ns });
      const st = d.status;
      const settled = (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        st?.availableReplicas === replicas && st.updatedReplicas === replicas && st.readyReplicas === replicas &&
        (st.conditions ?? []).some((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable');
      return settled ? d : undefined;
    }, { what: `Deployment ${name} to settle` });
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    const admin = loadKubeConfig(cluster.adminKubeconfigPath);
    adminApps = admin.makeApiClient(AppsV1Api);
    adminCore = admin.makeApiClient(CoreV1Api);
    adminBatch = admin.makeApiClient(BatchV1Api);
    actor = new KubernetesActor(loadKubeConfig(cluster.healerKubeconfigPath), systemClock);
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
  }, 120_000);

  afterAll(async () => {
    await deleteNamespace(cluster.adminKubeconfigPath, ns).catch(() => undefined);
    await adminCore?.deleteNode({ name: nodeName }).catch(() => undefined);
    await release?.();
  }, 60_000);

  it('rollout-restart: a dry run changes nothing; the real one sets restartedAt and the rollout completes', async () => {
    // Prepare
    const d = await deployment('restart-me', 2);
    const plan: ActionPlan = {
      action: 'rollout-restart',
      target: { kind: 'Deployment', name: 'restart-me', namespace: ns, uid: d.metadata?.uid },
      resourceVersion: d.metadata?.resourceVersion,
      parameters: {},
      summary: 'rolling restart',
    };

    // Act
    const dry = await actor.execute(plan, { dryRun: true });
    const afterDry = await adminApps.readNamespacedDeployment({ name: 'restart-me', namespace: ns });
    const real = await actor.execute(plan, { dryRun: false });

    // Assess
    expect(dry.ok).toBe(true);
    expect(dry.detail).toMatch(/dry run accepted; not applied/);
    expect(afterDry.metadata?.resourceVersion).toBe(d.metadata?.resourceVersion);
    expect(real.ok).toBe(true);
    const restarted = await adminApps.readNamespacedDeployment({ name: 'restart-me', namespace: ns });
    expect(restarted.spec?.template.metadata?.annotations?.[RESTARTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT/);
    const done = await waitFor(async () => {
      const j = judge(plan, await actor.observe(plan), 0);
      return j.status === 'done' ? j : undefined;
    }, { what: 'the restart rollout to finish', timeoutMs: 60_000 });
    expect(done.detail).toMatch(/2\/2 available/);
  });

  it('rollout-restart and scale: a plan made on an older resourceVersion is refused (409), not applied', async () => {
    // Prepare: the plan is made, then someone else changes the Deployment.
    const d = await deployment('moving', 1);
    const stale: ActionPlan = { action: 'scale-deployment', target: { kind: 'Deployment', name: 'moving', namespace: ns, uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: { replicas: 2 }, fromReplicas: 1, summary: 'scale 1 -> 2' };
    await adminApps.patchNamespacedDeployment({ name: 'moving', namespace: ns, body: { metadata: { labels: { touched: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

    // Act
    const scaled = await actor.execute(stale, { dryRun: false });
    const restarted = await actor.execute({ ...stale, action: 'rollout-restart', parameters: {} }, { dryRun: false });

    // Assess
    expect(scaled.ok).toBe(false);
    expect(scaled.detail).toMatch(/changed since the plan was made/);
    expect(restarted.ok).toBe(false);
    expect(restarted.detail).toMatch(/changed since the plan was made/);
    const now = await adminApps.readNamespacedDeployment({ name: 'moving', namespace: ns });
    expect(now.spec?.replicas).toBe(1);
    expect(now.spec?.template.metadata?.annotations?.[RESTARTED_AT]).toBeUndefined();
  });

  it('scale-deployment: through the scale subresource, verified, and reverted only while the count is ours', async () => {
    // Prepare
    const d = await deployment('scale-me', 1);
    const plan: ActionPlan = { action: 'scale-deployment', target: { kind: 'Deployment', name: 'scale-me', namespace: ns, uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: { replicas: 2 }, fromReplicas: 1, summary: 'scale 1 -> 2' };

    // Act
    const result = await actor.execute(plan, { dryRun: false });
    expect(result.ok, result.detail).toBe(true);
    const verified = await waitFor(async () => {
      const j = judge(plan, await actor.observe(plan), 0);
      return j.status === 'done' ? j : undefined;
    }, { what: 'two available replicas', timeoutMs: 45_000 });
    const reverted = await actor.revert(plan, { dryRun: false });
    const secondRevert = await actor.revert(plan, { dryRun: false });

    // Assess
    expect(result.ok).toBe(true);
    expect(verified.detail).toMatch(/2\/2 available/);
    expect(reverted).toMatchObject({ ok: true, detail: 'scaled back to 1' });
    expect(secondRevert.ok).toBe(false);
    expect(secondRevert.detail).toMatch(/replica count is now 1, not the 2/);
    expect((await adminApps.readNamespacedDeployment({ name: 'scale-me', namespace: ns })).spec?.replicas).toBe(1);
  });

  /**
   * The healer's actor, with another writer stepping in right after each of its first `times`
   * scale reads: an annotation on the Deployment, as a controller's status write would, moves
   * the resourceVersion the revert read (the API answers the revert's write 409).
   */
  function actorRacedBy(times: number) {
    const raced = { reads: 0, writes: 0 };
    const racing = new KubernetesActor(loadKubeConfig(cluster.healerKubeconfigPath), systemClock, {
      interpose: (api): ActionClient => ({
        evictPod: (...a) => api.evictPod(...a),
        patchDeployment: (...a) => api.patchDeployment(...a),
        patchNode: (...a) => api.patchNode(...a),
        deleteJob: (...a) => api.deleteJob(...a),
        replaceDeploymentScale: (...a) => api.replaceDeploymentScale(...a),
        async readDeploymentScale(deployment) {
          const scale = await api.readDeploymentScale(deployment);
          raced.reads += 1;
          if (raced.writes < times) {
            raced.writes += 1;
            await adminApps.patchNamespacedDeployment(
              { name: deployment.name, namespace: ns, body: { metadata: { annotations: { 'example.com/racer': String(raced.writes) } } } },
              setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
            );
          }
          return scale;
        },
      }),
    });
    return { racing, raced };
  }

  async function scaledByHealer(name: string) {
    const d = await deployment(name, 1);
    const plan: ActionPlan = { action: 'scale-deployment', target: { kind: 'Deployment', name, namespace: ns, uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: { replicas: 2 }, fromReplicas: 1, summary: 'scale 1 -> 2' };
    const result = await actor.execute(plan, { dryRun: false });
    expect(result.ok, result.detail).toBe(true);
    // Only the racer below may write between a revert's read and its write.
    await settled(name, 2);
    return plan;
  }

  it('a revert whose write meets a conflict reads again and reverts, the count being still the healer\'s', async () => {
    // Prepare
    const plan = await scaledByHealer('revert-raced-once');
    const { racing, raced } = actorRacedBy(1);

    // Act
    const reverted = await racing.revert(plan, { dryRun: false });

    // Assess
    expect(reverted, reverted.detail).toMatchObject({ ok: true, detail: 'scaled back to 1' });
    // One conflict of the racer's (the controller may rarely add one: the revert has 3 tries).
    expect(raced.writes).toBe(1);
    expect(raced.reads).toBeGreaterThanOrEqual(2);
    expect((await adminApps.readNamespacedDeployment({ name: 'revert-raced-once', namespace: ns })).spec?.replicas).toBe(1);
  });

  it('a revert that meets a conflict on every try stops after 3 and forces nothing', async () => {
    // Prepare
    const plan = await scaledByHealer('revert-raced-always');
    const { racing, raced } = actorRacedBy(Number.MAX_SAFE_INTEGER);

    // Act
    const reverted = await racing.revert(plan, { dryRun: false });

    // Assess
    expect(reverted.ok).toBe(false);
    expect(reverted.detail).toMatch(/not reverted: the target changed since the plan was made .*HTTP 409.*3 tries\)$/);
    expect(raced.reads).toBe(3);
    expect((await adminApps.readNamespacedDeployment({ name: 'revert-raced-always', namespace: ns })).spec?.replicas).toBe(2);
  });

  it('delete-job: a stuck Job goes with background propagation, pinned to its uid', async () => {
    // Prepare: a Job whose pod runs and never finishes.
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'stuck', namespace: ns },
      spec: { backoffLimit: 0, template: { metadata: { labels: { [BEHAVIOUR_LABEL]: 'hang' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'registry.example.com/batch:1' }] } } },
    });
    const job = await waitFor(async () => {
      const j = await adminBatch.readNamespacedJob({ name: 'stuck', namespace: ns });
      return (j.status?.active ?? 0) > 0 ? j : undefined;
    }, { what: 'the Job to have an active pod', timeoutMs: 30_000 });
    const plan: ActionPlan = { action: 'delete-job', target: { kind: 'Job', name: 'stuck', namespace: ns, uid: job.metadata?.uid }, parameters: {}, summary: 'delete Job stuck' };
    const wrongUid: ActionPlan = { ...plan, target: { ...plan.target, uid: '00000000-0000-0000-0000-000000000000' } };

    // Act
    const refused = await actor.execute(wrongUid, { dryRun: false });
    const deleted = await actor.execute(plan, { dryRun: false });
    const verified = await waitFor(async () => {
      const j = judge(plan, await actor.observe(plan), 0);
      return j.status === 'done' ? j : undefined;
    }, { what: 'the Job to be gone' });

    // Assess
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/changed since the plan was made/);
    expect(deleted.ok).toBe(true);
    expect(verified.detail).toBe('the Job is gone');
    // Background propagation: the garbage collector removes the pod after the Job.
    await waitFor(async () => ((await adminCore.listNamespacedPod({ namespace: ns, labelSelector: `job-name=stuck` })).items.length === 0 ? true : undefined), { what: 'the Job\'s pods to be collected', timeoutMs: 60_000 });
  }, 120_000);

  it('cordon-node: marks the node unschedulable, nothing else; a dry run does not', async () => {
    // Prepare: a kwok node of its own, so no other test loses a schedulable node.
    await applyManifest(cluster.adminKubeconfigPath, { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, annotations: { [KWOK_NODE_ANNOTATION]: 'fake' }, labels: { 'healer-test/node': 'yes' } } });
    // kwok initialises the new node (status, conditions) right after it appears: plan on the settled object.
    const node = await waitFor(async () => {
      const n = await adminCore.readNode({ name: nodeName });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    }, { what: `node ${nodeName} Ready` });
    const plan = (rv: string | undefined): ActionPlan => ({ action: 'cordon-node', target: { kind: 'Node', name: nodeName, uid: node.metadata?.uid }, resourceVersion: rv, parameters: {}, summary: 'cordon' });

    // kwok keeps writing the node's status, so a write pinned to the version just read can meet a
    // newer one (409, refused by the pin, as it should be): read again and retry, as the worker's
    // next attempt would. At most a few times: a pin that always fails is a failure.
    const onFresh = async (dryRun: boolean) => {
      let result = await actor.execute(plan(node.metadata?.resourceVersion), { dryRun });
      for (let attempt = 0; attempt < 5 && !result.ok && /precondition failed/.test(result.detail); attempt++) {
        const fresh = await adminCore.readNode({ name: nodeName });
        result = await actor.execute(plan(fresh.metadata?.resourceVersion), { dryRun });
      }
      return result;
    };

    // Act
    const dry = await onFresh(true);
    const unschedulableAfterDry = (await adminCore.readNode({ name: nodeName })).spec?.unschedulable;
    const real = await onFresh(false);

    // Assess
    expect(dry.ok, dry.detail).toBe(true);
    expect(unschedulableAfterDry).not.toBe(true);
    expect(real.ok, real.detail).toBe(true);
    const after = await adminCore.readNode({ name: nodeName });
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.metadata?.labels).toMatchObject({ 'healer-test/node': 'yes' });
    expect(judge(plan(undefined), await actor.observe(plan(undefined)), 0).status).toBe('done');
  });
});
