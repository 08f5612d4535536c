import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  deleteNamespace,
  ensureNamespace,
  HEALER_NAMESPACE,
  HEALER_SERVICE_ACCOUNT,
  KWOK_NODE_ANNOTATION,
  loadKubeConfig,
  userKubeconfig,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';
import { KubernetesActor, RESTARTED_AT } from '../../lib/adapters/kubernetes-actions.js';
import { describeKubeError } from '../../lib/adapters/kube-errors.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { loadConfig } from '../../lib/config/config.js';
import { systemClock } from '../../lib/ports/index.js';

/**
 * infra/admission-policy.yaml on a real kube-apiserver, against the healer's own ServiceAccount
 * token: what RBAC grants the healer (patch any Deployment or Node, update any scale, write in any
 * namespace) is narrowed by ValidatingAdmissionPolicies to the five actions' exact writes. The
 * genuine writes go through KubernetesActor, the code the worker runs; each refused write is a
 * server-side dry run (admission runs in full, nothing is stored) that also carries a genuine
 * change where one exists, so it is the extra change that is refused.
 */
const available = controlPlaneAvailable();
const kwokHere = !process.env.TEST_KUBECONFIG;
const HEALER_USER = `system:serviceaccount:${HEALER_NAMESPACE}:${HEALER_SERVICE_ACCOUNT}`;
// The code's defaults, which the admission policy mirrors (its header says so).
const defaults = loadConfig({});

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** "allowed", or the API's refusal as the healer's code reports it ("HTTP 403: ..."). */
async function answer(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'allowed';
  } catch (err) {
    if (typeof (err as { code?: unknown }).code !== 'number') throw err;
    return describeKubeError(err);
  }
}

/** The field list of a restart-only / cordon-only refusal ("...; this request changes a, b"). */
const changesIn = (refusal: string) => /this request changes (.*)$/.exec(refusal)?.[1];

type Json = Record<string, unknown>;
function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(prev as Json, v as Json) : v;
  }
  return out;
}

/** What KubernetesActor sends for a rollout restart, minus the version pin. */
const restartPatch = (): Json => ({ spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } } });

describe.skipIf(!available || !kwokHere)('the healer identity at admission (infra/admission-policy.yaml)', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let adminApps: AppsV1Api;
  let adminCore: CoreV1Api;
  let adminBatch: BatchV1Api;
  let adminAuthz: AuthorizationV1Api;
  let healerApps: AppsV1Api;
  let healerCore: CoreV1Api;
  let healerBatch: BatchV1Api;
  let actor: KubernetesActor;
  const suffix = randomBytes(3).toString('hex');
  const ns = `identity-${suffix}`;
  const nodeName = `healer-identity-node-${suffix}`;
  // Objects this file makes in the protected namespaces, removed again in afterAll.
  const protectedName = `healer-identity-${suffix}`;

  /** A Deployment with Ready kwok pods, read once its controller has settled (so a plan pinned to
   * its resourceVersion is not refused with 409 by a status write). */
  async function deployment(namespace: string, name: string, replicas: number, extra: { templateAnnotations?: Record<string, string> } = {}): Promise<V1Deployment> {
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name }, annotations: extra.templateAnnotations ?? {} },
          spec: { containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }] },
        },
      },
    });
    await waitForReadyPods(cluster.adminKubeconfigPath, namespace, { app: name }, replicas);
    return settled(namespace, name, replicas);
  }

  async function settled(namespace: string, name: string, replicas: number): Promise<V1Deployment> {
    return waitFor(async () => {
      const d = await adminApps.readNamespacedDeployment({ name, namespace });
      const st = d.status;
      const done = (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        (st?.availableReplicas ?? 0) === replicas && (st?.updatedReplicas ?? 0) === replicas && (st?.readyReplicas ?? 0) === replicas &&
        (st?.replicas ?? 0) === replicas;
      return done ? d : undefined;
    }, { what: `Deployment ${namespace}/${name} to settle at ${replicas}`, timeoutMs: 60_000 });
  }

  /** A Deployment whose pods never schedule: for scale writes that need a count, not pods. */
  async function pendingDeployment(name: string, replicas: number): Promise<void> {
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { nodeSelector: { 'healer-test/nowhere': 'true' }, containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }] },
        },
      },
    });
  }

  /** Does RBAC alone let the healer do this? (SubjectAccessReview, asked by the admin.) */
  async function rbacAllows(attrs: { namespace?: string; verb: string; group: string; resource: string; subresource?: string }): Promise<boolean> {
    const review = await adminAuthz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: HEALER_USER,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${HEALER_NAMESPACE}`, 'system:authenticated'],
          resourceAttributes: attrs,
        },
      },
    });
    return review.status?.allowed === true;
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    const admin = loadKubeConfig(cluster.adminKubeconfigPath);
    const healer = loadKubeConfig(cluster.healerKubeconfigPath);
    adminApps = admin.makeApiClient(AppsV1Api);
    adminCore = admin.makeApiClient(CoreV1Api);
    adminBatch = admin.makeApiClient(BatchV1Api);
    adminAuthz = admin.makeApiClient(AuthorizationV1Api);
    healerApps = healer.makeApiClient(AppsV1Api);
    healerCore = healer.makeApiClient(CoreV1Api);
    healerBatch = healer.makeApiClient(BatchV1Api);
    actor = new KubernetesActor(healer, systemClock);
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    // A node of this file's own, tainted so no other pod lands on it; kwok makes it Ready.
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, annotations: { [KWOK_NODE_ANNOTATION]: 'fake' }, labels: { 'healer-test/node': 'identity' } },
      spec: { taints: [{ key: 'healer-test/dedicated', value: 'identity', effect: 'NoSchedule' }] },
    });
    await waitFor(async () => {
      const n = await adminCore.readNode({ name: nodeName });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    }, { what: `node ${nodeName} Ready` });
  }, 180_000);

  afterAll(async () => {
    await deleteNamespace(cluster.adminKubeconfigPath, ns).catch(() => undefined);
    await adminCore?.deleteNode({ name: nodeName }).catch(() => undefined);
    for (const namespace of defaults.settings.policy.deniedNamespaces) {
      await adminBatch?.deleteNamespacedJob({ name: protectedName, namespace, body: { propagationPolicy: 'Background' } }).catch(() => undefined);
    }
    await adminApps?.deleteNamespacedDeployment({ name: protectedName, namespace: 'kube-system' }).catch(() => undefined);
    await release?.();
  }, 60_000);

  describe('Deployments: only the pod template\'s restartedAt (k8s-healer-restart-only)', () => {
    let web: V1Deployment;

    beforeAll(async () => {
      web = await deployment(ns, 'web', 1, { templateAnnotations: { 'example.com/team': 'payments' } });
    }, 120_000);

    it('lets the genuine rollout restart through (KubernetesActor, pinned to uid and resourceVersion)', async () => {
      // Prepare
      const d = await settled(ns, 'web', 1);
      const plan: ActionPlan = { action: 'rollout-restart', target: { kind: 'Deployment', name: 'web', namespace: ns, uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: {}, summary: 'rolling restart' };

      // Act
      const result = await actor.execute(plan, { dryRun: false });

      // Assess
      expect(result.ok, result.detail).toBe(true);
      const after = await adminApps.readNamespacedDeployment({ name: 'web', namespace: ns });
      expect(after.spec?.template.metadata?.annotations?.[RESTARTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(after.spec?.template.metadata?.annotations?.['example.com/team']).toBe('payments');
      expect(after.metadata?.generation).toBe((d.metadata?.generation ?? 0) + 1);
      await settled(ns, 'web', 1);
    });

    const denials: { what: string; patch: () => Json; changes: string }[] = [
      {
        what: 'an ownerReference (the garbage collector would delete the Deployment once that owner is gone)',
        patch: () => ({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'anything', uid: randomUUID() }] } }),
        changes: 'metadata.ownerReferences',
      },
      { what: 'a finalizer', patch: () => ({ metadata: { finalizers: ['example.com/hold'] } }), changes: 'metadata.finalizers' },
      { what: 'a label', patch: () => ({ metadata: { labels: { owner: 'intruder' } } }), changes: 'metadata.labels' },
      { what: 'an annotation', patch: () => ({ metadata: { annotations: { 'example.com/note': 'hello' } } }), changes: 'metadata.annotations' },
      {
        what: 'another image',
        patch: () => ({ spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example.com/evil:1' }] } } } }),
        changes: 'spec.template.spec',
      },
      { what: 'replicas through the Deployment object', patch: () => ({ spec: { replicas: 5 } }), changes: 'spec.replicas' },
      { what: 'a paused rollout', patch: () => ({ spec: { paused: true } }), changes: 'spec.paused' },
      { what: 'another pod template label', patch: () => ({ spec: { template: { metadata: { labels: { tier: 'intruder' } } } } }), changes: 'spec.template.metadata.labels' },
      {
        what: 'another pod template annotation',
        patch: () => ({ spec: { template: { metadata: { annotations: { 'sidecar.example.com/inject': 'true' } } } } }),
        changes: 'spec.template.metadata.annotations[sidecar.example.com/inject]',
      },
      {
        what: 'a pod template annotation removed',
        patch: () => ({ spec: { template: { metadata: { annotations: { 'example.com/team': null } } } } }),
        changes: 'spec.template.metadata.annotations[example.com/team]',
      },
    ];

    it.each(denials)('refuses $what, even alongside a genuine restart', async ({ patch, changes }) => {
      // Prepare: RBAC alone would let this patch through.
      expect(await rbacAllows({ namespace: ns, verb: 'patch', group: 'apps', resource: 'deployments' })).toBe(true);
      const body = deepMerge(restartPatch(), patch());

      // Act (server-side dry run: admission runs in full, nothing is stored)
      const refusal = await answer(() => healerApps.patchNamespacedDeployment({ name: 'web', namespace: ns, body, dryRun: 'All' }, merge));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-restart-only'/);
      expect(changesIn(refusal)).toBe(changes);
    });

    it('refuses removing restartedAt: a write that leaves no restart behind', async () => {
      // Prepare: the Deployment carries a restartedAt (the restart above set one)
      const before = await adminApps.readNamespacedDeployment({ name: 'web', namespace: ns });
      if (!before.spec?.template.metadata?.annotations?.[RESTARTED_AT]) {
        await adminApps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: '2020-01-01T00:00:00Z' } } } } } }, merge);
      }

      // Act
      const removed = await answer(() => healerApps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: null } } } } }, dryRun: 'All' }, merge));

      // Assess
      expect(removed).toMatch(/^HTTP 403: .*must set spec\.template\.metadata\.annotations\[kubectl\.kubernetes\.io\/restartedAt\]/);
    });

    it('leaves the Deployment as it was', async () => {
      // Act
      const after = await adminApps.readNamespacedDeployment({ name: 'web', namespace: ns });

      // Assess: only the restart above changed it
      expect(after.metadata?.ownerReferences).toBeUndefined();
      expect(after.metadata?.finalizers).toBeUndefined();
      expect(after.metadata?.labels).toEqual(web.metadata?.labels);
      expect(after.spec?.replicas).toBe(1);
      expect(after.spec?.template.spec?.containers[0]?.image).toBe('registry.example.com/web:1.0.0');
    });
  });

  describe('Nodes: only spec.unschedulable, only to true (k8s-healer-cordon-only)', () => {
    async function setUnschedulable(value: boolean) {
      await adminCore.patchNode({ name: nodeName, body: { spec: { unschedulable: value } } }, merge);
    }

    it('lets the genuine cordon through (KubernetesActor, pinned to uid and resourceVersion)', async () => {
      // Prepare
      await setUnschedulable(false);
      const node = await adminCore.readNode({ name: nodeName });
      const plan: ActionPlan = { action: 'cordon-node', target: { kind: 'Node', name: nodeName, uid: node.metadata?.uid }, resourceVersion: node.metadata?.resourceVersion, parameters: {}, summary: 'cordon' };

      // Act (kwok may write the node between our read and the write: a 409 then says so)
      const result = await actor.execute(plan, { dryRun: false });

      // Assess
      expect(result.ok, result.detail).toBe(true);
      const after = await adminCore.readNode({ name: nodeName });
      expect(after.spec?.unschedulable).toBe(true);
      expect(after.spec?.taints?.map((t) => t.key)).toContain('healer-test/dedicated');
    });

    const denials: { what: string; patch: Json; changes: string }[] = [
      { what: 'a taint', patch: { spec: { taints: [{ key: 'healer-test/dedicated', value: 'identity', effect: 'NoSchedule' }, { key: 'evil', effect: 'NoExecute' }] } }, changes: 'spec.taints' },
      { what: 'a label', patch: { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }, changes: 'metadata.labels' },
      {
        what: 'an ownerReference (the garbage collector would delete the Node)',
        patch: { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'kwok-node-0', uid: randomUUID() }] } },
        changes: 'metadata.ownerReferences',
      },
      { what: 'a finalizer', patch: { metadata: { finalizers: ['example.com/hold'] } }, changes: 'metadata.finalizers' },
      { what: 'another providerID', patch: { spec: { providerID: 'aws:///us-east-1a/i-0123456789abcdef0' } }, changes: 'spec.providerID' },
    ];

    it.each(denials)('refuses $what, even alongside a genuine cordon', async ({ patch, changes }) => {
      // Prepare: RBAC alone would let this patch through.
      expect(await rbacAllows({ verb: 'patch', group: '', resource: 'nodes' })).toBe(true);
      await setUnschedulable(false);

      // Act (server-side dry run)
      const refusal = await answer(() => healerCore.patchNode({ name: nodeName, body: deepMerge({ spec: { unschedulable: true } }, patch), dryRun: 'All' }, merge));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-cordon-only'/);
      expect(changesIn(refusal)).toBe(changes);
    });

    it('refuses to uncordon a Node', async () => {
      // Prepare
      await setUnschedulable(true);

      // Act
      const toFalse = await answer(() => healerCore.patchNode({ name: nodeName, body: { spec: { unschedulable: false } }, dryRun: 'All' }, merge));
      const removed = await answer(() => healerCore.patchNode({ name: nodeName, body: { spec: { unschedulable: null } }, dryRun: 'All' }, merge));

      // Assess
      expect(toFalse).toMatch(/^HTTP 403: .*may only cordon a Node/);
      expect(removed).toMatch(/^HTTP 403: .*may only cordon a Node/);
      expect((await adminCore.readNode({ name: nodeName })).spec?.unschedulable).toBe(true);
    });
  });

  describe('scale subresource: 1..max replicas, at most max step away (k8s-healer-scale-bounds)', () => {
    const { maxReplicas, maxStep } = defaults.settings.scale;

    /** The healer replacing the scale, as KubernetesActor does, as a server-side dry run. */
    const scaleTo = (name: string, replicas: number) => answer(() => healerApps.replaceNamespacedDeploymentScale({
      name,
      namespace: ns,
      dryRun: 'All',
      body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: ns }, spec: { replicas } },
    }));
    const adminScale = (name: string, replicas: number) =>
      adminApps.patchNamespacedDeploymentScale({ name, namespace: ns, body: { spec: { replicas } } }, merge);

    beforeAll(async () => {
      await pendingDeployment('counted', 2);
    });

    it('scales up by one and back to the count before (KubernetesActor execute and revert)', async () => {
      // Prepare
      const d = await deployment(ns, 'scaled', 2);
      const plan: ActionPlan = { action: 'scale-deployment', target: { kind: 'Deployment', name: 'scaled', namespace: ns, uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: { replicas: 3 }, fromReplicas: 2, summary: 'scale 2 -> 3' };

      // Act (revert once the scale-up has settled, as the worker does after verification)
      const up = await actor.execute(plan, { dryRun: false });
      await settled(ns, 'scaled', 3);
      const down = await actor.revert(plan, { dryRun: false });

      // Assess
      expect(up.ok, up.detail).toBe(true);
      expect(down.ok, down.detail).toBe(true);
      expect(down.detail).toBe('scaled back to 2');
      expect((await adminApps.readNamespacedDeploymentScale({ name: 'scaled', namespace: ns })).spec?.replicas).toBe(2);
    });

    it('refuses scaling to 0', async () => {
      // Prepare
      await adminScale('counted', 2);
      expect(await rbacAllows({ namespace: ns, verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' })).toBe(true);

      // Act
      const refusal = await scaleTo('counted', 0);

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-scale-bounds'.*never scale to zero/);
    });

    it('refuses scaling to 10000', async () => {
      // Prepare
      await adminScale('counted', 2);

      // Act
      const refusal = await scaleTo('counted', 10_000);

      // Assess
      expect(refusal).toMatch(new RegExp(`^HTTP 403: .*at most ${maxReplicas} replicas, not 10000`));
    });

    it(`refuses going above HEALER_SCALE_MAX_REPLICAS' default (${maxReplicas}), even by one`, async () => {
      // Prepare
      await adminScale('counted', maxReplicas - 1);

      // Act
      const toMax = await scaleTo('counted', maxReplicas);
      await adminScale('counted', maxReplicas);
      const aboveMax = await scaleTo('counted', maxReplicas + 1);

      // Assess
      expect(toMax).toBe('allowed');
      expect(aboveMax).toMatch(new RegExp(`^HTTP 403: .*at most ${maxReplicas} replicas, not ${maxReplicas + 1}`));
    });

    it(`refuses a step larger than HEALER_SCALE_MAX_STEP's default (${maxStep}), up or down`, async () => {
      // Prepare
      const from = maxStep + 3;
      await adminScale('counted', from);

      // Act
      const answers = {
        [`+${maxStep}`]: await scaleTo('counted', from + maxStep),
        [`+${maxStep + 1}`]: await scaleTo('counted', from + maxStep + 1),
        [`-${maxStep}`]: await scaleTo('counted', from - maxStep),
        [`-${maxStep + 1}`]: await scaleTo('counted', from - maxStep - 1),
      };

      // Assess
      expect(answers[`+${maxStep}`]).toBe('allowed');
      expect(answers[`-${maxStep}`]).toBe('allowed');
      expect(answers[`+${maxStep + 1}`]).toMatch(new RegExp(`^HTTP 403: .*by at most ${maxStep} at once, not from ${from} to ${from + maxStep + 1}`));
      expect(answers[`-${maxStep + 1}`]).toMatch(new RegExp(`^HTTP 403: .*by at most ${maxStep} at once, not from ${from} to ${from - maxStep - 1}`));
    });
  });

  describe(`protected namespaces: HEALER_DENIED_NAMESPACES' default (${defaults.settings.policy.deniedNamespaces.join(', ')}) (k8s-healer-protected-namespaces)`, () => {
    const protectedRefusal = (namespace: string) => new RegExp(`HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-protected-namespaces'.*may not write in the protected namespace ${namespace}`);
    let system: V1Deployment;
    let systemPod: { name: string; uid: string };

    beforeAll(async () => {
      expect(defaults.settings.policy.deniedNamespaces).toContain('kube-system');
      system = await deployment('kube-system', protectedName, 1);
      const [pod] = await waitForReadyPods(cluster.adminKubeconfigPath, 'kube-system', { app: protectedName }, 1);
      systemPod = { name: pod!.metadata!.name!, uid: pod!.metadata!.uid! };
    }, 120_000);

    it('refuses evicting a pod in kube-system, though RBAC allows it', async () => {
      // Prepare
      const allowedByRbac = await rbacAllows({ namespace: 'kube-system', verb: 'create', group: '', resource: 'pods', subresource: 'eviction' });
      const plan: ActionPlan = { action: 'evict-pod', target: { kind: 'Pod', name: systemPod.name, namespace: 'kube-system', uid: systemPod.uid }, parameters: {}, summary: 'evict' };

      // Act
      const result = await actor.execute(plan, { dryRun: false });

      // Assess
      expect(allowedByRbac).toBe(true);
      expect(result.ok).toBe(false);
      expect(result.detail).toMatch(protectedRefusal('kube-system'));
      expect((await adminCore.readNamespacedPod({ name: systemPod.name, namespace: 'kube-system' })).metadata?.uid).toBe(systemPod.uid);
    });

    it('refuses restarting a Deployment in kube-system, though RBAC allows it', async () => {
      // Prepare
      const allowedByRbac = await rbacAllows({ namespace: 'kube-system', verb: 'patch', group: 'apps', resource: 'deployments' });
      const d = await settled('kube-system', protectedName, 1);
      const plan: ActionPlan = { action: 'rollout-restart', target: { kind: 'Deployment', name: protectedName, namespace: 'kube-system', uid: d.metadata?.uid }, resourceVersion: d.metadata?.resourceVersion, parameters: {}, summary: 'rolling restart' };

      // Act
      const result = await actor.execute(plan, { dryRun: false });

      // Assess
      expect(allowedByRbac).toBe(true);
      expect(result.ok).toBe(false);
      expect(result.detail).toMatch(protectedRefusal('kube-system'));
      const after = await adminApps.readNamespacedDeployment({ name: protectedName, namespace: 'kube-system' });
      expect(after.spec?.template.metadata?.annotations?.[RESTARTED_AT]).toBeUndefined();
      expect(after.metadata?.generation).toBe(system.metadata?.generation);
    });

    it('refuses scaling a Deployment in kube-system, though RBAC allows it', async () => {
      // Prepare
      const allowedByRbac = await rbacAllows({ namespace: 'kube-system', verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' });

      // Act (+1: within the scale bounds, so only the namespace refuses it)
      const refusal = await answer(() => healerApps.replaceNamespacedDeploymentScale({
        name: protectedName,
        namespace: 'kube-system',
        dryRun: 'All',
        body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: protectedName, namespace: 'kube-system' }, spec: { replicas: 2 } },
      }));

      // Assess
      expect(allowedByRbac).toBe(true);
      expect(refusal).toMatch(protectedRefusal('kube-system'));
    });

    it('refuses deleting a Job in every protected namespace, and allows it elsewhere', async () => {
      // Prepare: a suspended Job (no pods) in each protected namespace and in the test namespace
      const namespaces = [...defaults.settings.policy.deniedNamespaces, ns];
      for (const namespace of namespaces) {
        await applyManifest(cluster.adminKubeconfigPath, {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: protectedName, namespace },
          spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.example.com/job:1' }] } } },
        });
      }
      const allowedByRbac = await Promise.all(namespaces.map((namespace) => rbacAllows({ namespace, verb: 'delete', group: 'batch', resource: 'jobs' })));

      // Act (as KubernetesActor deletes: background propagation; a dry run)
      const answers: Record<string, string> = {};
      for (const namespace of namespaces) {
        answers[namespace] = await answer(() => healerBatch.deleteNamespacedJob({ name: protectedName, namespace, dryRun: 'All', body: { propagationPolicy: 'Background', dryRun: ['All'] } }));
      }

      // Assess
      expect(allowedByRbac).toEqual(namespaces.map(() => true));
      for (const namespace of defaults.settings.policy.deniedNamespaces) expect(answers[namespace], namespace).toMatch(protectedRefusal(namespace));
      expect(answers[ns]).toBe('allowed');
    });
  });

  describe('an IAM identity mapped to the healer\'s groups (EKS access entry or aws-auth) is narrowed exactly as the ServiceAccount', () => {
    // How the apiserver sees the functions' IAM roles on EKS: a username and the group the access
    // entry names (docs/operations.md). Here a client certificate of the control plane's CA carries them.
    let remediateApps: AppsV1Api;
    let scanCore: CoreV1Api;
    let scanAsMaster: AppsV1Api;
    const iamProtected = `iam-${suffix}`;

    afterAll(async () => {
      await adminApps.deleteNamespacedDeployment({ name: iamProtected, namespace: 'kube-system' }).catch(() => undefined);
    });

    beforeAll(async () => {
      await pendingDeployment('iam-web', 1);
      await applyManifest(cluster.adminKubeconfigPath, {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: iamProtected, namespace: 'kube-system' },
        spec: { replicas: 1, selector: { matchLabels: { app: iamProtected } }, template: { metadata: { labels: { app: iamProtected } }, spec: { nodeSelector: { 'healer-test/nowhere': 'true' }, containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }] } } },
      });
      remediateApps = loadKubeConfig(await userKubeconfig(cluster, { user: 'k8s-healer-prod-remediate', groups: ['k8s-healer:remediate'] })).makeApiClient(AppsV1Api);
      scanCore = loadKubeConfig(await userKubeconfig(cluster, { user: 'k8s-healer-prod-scan', groups: ['k8s-healer:scan'] })).makeApiClient(CoreV1Api);
      // The scan's group together with every RBAC grant there is: only admission stands in the way.
      scanAsMaster = loadKubeConfig(await userKubeconfig(cluster, { user: 'scan-with-too-much', groups: ['k8s-healer:scan', 'system:masters'] })).makeApiClient(AppsV1Api);
    }, 60_000);

    it('k8s-healer:remediate may restart a Deployment (RBAC through the group)', async () => {
      // Act (server-side dry run)
      const restart = await answer(() => remediateApps.patchNamespacedDeployment({ name: 'iam-web', namespace: ns, body: restartPatch(), dryRun: 'All' }, merge));

      // Assess
      expect(restart).toBe('allowed');
    });

    it('k8s-healer:remediate may not change anything else alongside (k8s-healer-restart-only)', async () => {
      // Act
      const refusal = await answer(() => remediateApps.patchNamespacedDeployment({ name: 'iam-web', namespace: ns, body: deepMerge(restartPatch(), { metadata: { labels: { owner: 'intruder' } } }), dryRun: 'All' }, merge));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-restart-only'/);
      expect(changesIn(refusal)).toBe('metadata.labels');
    });

    it('k8s-healer:remediate may not scale beyond the bounds (k8s-healer-scale-bounds)', async () => {
      // Act
      const refusal = await answer(() => remediateApps.replaceNamespacedDeploymentScale({
        name: 'iam-web', namespace: ns, dryRun: 'All',
        body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'iam-web', namespace: ns }, spec: { replicas: 0 } },
      }));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-scale-bounds'/);
    });

    it('k8s-healer:remediate may not write in kube-system (k8s-healer-protected-namespaces)', async () => {
      // Act
      const refusal = await answer(() => remediateApps.patchNamespacedDeployment({ name: iamProtected, namespace: 'kube-system', body: restartPatch(), dryRun: 'All' }, merge));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-protected-namespaces'/);
    });

    it('k8s-healer:scan lists and nothing more, and writes nothing even with every grant (k8s-healer-scan-never-writes)', async () => {
      // Act
      const list = await answer(() => scanCore.listPodForAllNamespaces({ limit: 1 }));
      const get = await answer(() => scanCore.readNamespace({ name: ns }));
      const write = await answer(() => scanAsMaster.patchNamespacedDeployment({ name: 'iam-web', namespace: ns, body: restartPatch(), dryRun: 'All' }, merge));

      // Assess
      expect(list).toBe('allowed');
      expect(get).toMatch(/^HTTP 403/);
      expect(write).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-scan-never-writes'/);
    });
  });
});
