import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig, KubernetesObjectApi, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  deleteNamespace,
  ensureNamespace,
  listPods,
  loadKubeConfig,
  waitFor,
  type ClusterInfo,
  type Manifest,
} from '../support/control-plane.js';
import { KubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { cooldownKey } from '../../lib/policy/policy.js';
import { systemClock } from '../../lib/ports/index.js';
import type { Evidence, Incident, Symptom } from '../../lib/domain/types.js';
import { anIncident } from '../fixtures/builders.js';

/**
 * The owner chain read with the healer's scoped identity on the local control plane: every
 * controller owner up the chain is read for its opt-out (StatefulSet, DaemonSet, Job, CronJob,
 * not only Deployment); an owner that cannot be read is a gap, never "not opted out"; one workload
 * keeps one cooldown key; governance lists are read past their first page.
 */
let cluster: ClusterInfo;
let release: () => Promise<void>;
let reader: KubernetesCluster;
const ns = `chain-${Date.now().toString(36)}`;
const OPT_OUT = { 'k8s-healer.io/opt-out': 'true' };
/** Small pages, so the governance lists below take three. */
const LIMITS = { logTailLines: 10, logLimitBytes: 2048, eventsLimit: 5, listPageSize: 40 };

const incident = (kind: string, name: string, symptom: Symptom = 'CrashLoopBackOff'): Incident =>
  anIncident({ symptom, subject: { kind, name, namespace: ns }, alertname: undefined });
const kinds = (e: Evidence | { chain: readonly { kind: string }[] }) => ('chain' in e ? e.chain : e.ownerChain).map((o) => o.kind);

const podTemplate = (app: string, extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image: `registry.example.com/${app}:1` }], ...extra },
});

async function podOf(selector: Record<string, string>): Promise<V1Pod> {
  return waitFor(async () => (await listPods(cluster.adminKubeconfigPath, ns, selector))[0], { what: `a pod ${JSON.stringify(selector)}`, timeoutMs: 60_000 });
}

/** A Job started by hand from a CronJob, as `kubectl create job --from=cronjob/...` does: the CronJob is its controller. */
async function jobOfCronJob(cronJob: string, annotations: Record<string, string>): Promise<string> {
  const [cj] = await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: cronJob, namespace: ns, annotations },
    spec: { schedule: '0 3 * * *', suspend: true, jobTemplate: { spec: { template: podTemplate(cronJob, { restartPolicy: 'Never' }) } } },
  });
  const job = `${cronJob}-manual`;
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job, namespace: ns, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob, uid: cj?.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }] },
    spec: { backoffLimit: 0, template: { metadata: { labels: { app: cronJob, 'healer-test/behaviour': 'hang' } }, spec: { restartPolicy: 'Never', containers: [{ name: cronJob, image: `registry.example.com/${cronJob}:1` }] } } },
  });
  return job;
}

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
  reader = new KubernetesCluster(loadKubeConfig(cluster.healerKubeconfigPath), LIMITS, systemClock);
  await ensureNamespace(cluster.adminKubeconfigPath, ns);
  const [ownerConfigMap] = await applyManifest(cluster.adminKubeconfigPath, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rollout-owner', namespace: ns }, data: {} });
  const fillers = (n: number, make: (i: string) => Manifest) => Array.from({ length: n }, (_, i) => make(String(i).padStart(3, '0')));
  await Promise.all([
    applyManifest(cluster.adminKubeconfigPath, [
      // Opted out on the workload only: its pods carry no marker of their own.
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: ns, annotations: OPT_OUT }, spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } }, template: podTemplate('db') } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: ns, labels: OPT_OUT }, spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate('agent', { tolerations: [{ operator: 'Exists' }] }) } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') } },
      // A ReplicaSet some other controller (a kind the healer does not read) owns, as Argo Rollouts does.
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'canary', namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'rollout-owner', uid: ownerConfigMap?.metadata?.uid ?? '', controller: true }] }, spec: { replicas: 1, selector: { matchLabels: { app: 'canary' } }, template: podTemplate('canary') } },
    ]),
    jobOfCronJob('nightly', OPT_OUT),
    jobOfCronJob('hourly', {}),
    // 100 of each before the one that governs web (lists come back in name order).
    applyManifest(cluster.adminKubeconfigPath, [
      ...fillers(100, (i) => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: `filler-${i}`, namespace: ns }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `filler-${i}` }, minReplicas: 1, maxReplicas: 2 } })),
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'zz-web', namespace: ns }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 4 } },
    ]),
    applyManifest(cluster.adminKubeconfigPath, [
      ...fillers(100, (i) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: `filler-${i}`, namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: { app: `filler-${i}` } } } })),
      { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'zz-web', namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
    ]),
  ]);
}, 180_000);

afterAll(async () => {
  if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, ns);
  await release?.();
});

describe('the owner chain, read up to the top', () => {
  it('sees the opt-out of a StatefulSet on its pod, and keys the pod and the StatefulSet alike', async () => {
    // Prepare
    const pod = await podOf({ app: 'db' });

    // Act
    const evidence = await reader.gatherEvidence(incident('Pod', pod.metadata?.name ?? ''));
    const placement = await reader.placementOf(incident('Pod', pod.metadata?.name ?? ''));
    const workload = await reader.gatherEvidence(incident('StatefulSet', 'db', 'StatefulSetUnavailable'));

    // Assess
    expect(evidence).toMatchObject({ optOut: true, ownerChainComplete: true });
    expect(kinds(evidence)).toEqual(['Pod', 'StatefulSet']);
    expect(placement).toMatchObject({ optOut: true, namespaceOptOut: false, complete: true, gaps: [] });
    expect(workload).toMatchObject({ optOut: true, ownerChainComplete: true });
    expect(cooldownKey('local', evidence)).toBe(`local/${ns}/StatefulSet/db`);
    expect(cooldownKey('local', workload)).toBe(cooldownKey('local', evidence));
  });

  it('sees the opt-out label of a DaemonSet on its pod', async () => {
    const pod = await podOf({ app: 'agent' });
    const placement = await reader.placementOf(incident('Pod', pod.metadata?.name ?? ''));
    expect(placement).toMatchObject({ optOut: true, complete: true });
    expect(placement && kinds(placement)).toEqual(['Pod', 'DaemonSet']);
  });

  it('sees the opt-out of a CronJob on its Job and on the Job\'s pod', async () => {
    // Prepare
    const pod = await podOf({ app: 'nightly' });

    // Act
    const job = await reader.gatherEvidence(incident('Job', 'nightly-manual', 'JobStuck'));
    const podPlacement = await reader.placementOf(incident('Pod', pod.metadata?.name ?? ''));

    // Assess
    expect(job).toMatchObject({ optOut: true, ownerChainComplete: true });
    expect(kinds(job)).toEqual(['Job', 'CronJob']);
    expect(podPlacement).toMatchObject({ optOut: true, complete: true });
    expect(podPlacement && kinds(podPlacement)).toEqual(['Pod', 'Job', 'CronJob']);
  });

  it('keys the pod of a Job, the Job and its CronJob to one workload', async () => {
    // Prepare
    const pod = await podOf({ app: 'hourly' });

    // Act
    const fromPod = await reader.gatherEvidence(incident('Pod', pod.metadata?.name ?? ''));
    const fromJob = await reader.gatherEvidence(incident('Job', 'hourly-manual', 'JobStuck'));
    const fromCronJob = await reader.gatherEvidence(incident('CronJob', 'hourly', 'Unknown'));

    // Assess
    expect([fromPod, fromJob, fromCronJob].map((e) => cooldownKey('local', e))).toEqual(Array.from({ length: 3 }, () => `local/${ns}/CronJob/hourly`));
    expect([fromPod, fromJob, fromCronJob].map((e) => [e.optOut, e.ownerChainComplete])).toEqual([[false, true], [false, true], [false, true]]);
  });

  it('calls the chain incomplete above an owner of a kind it does not read, and keys on that owner', async () => {
    // Prepare
    const pod = await podOf({ app: 'canary' });

    // Act
    const evidence = await reader.gatherEvidence(incident('Pod', pod.metadata?.name ?? ''));

    // Assess
    expect(evidence.ownerChainComplete).toBe(false);
    expect(kinds(evidence)).toEqual(['Pod', 'ReplicaSet', 'ConfigMap']);
    expect(evidence.gaps).toContain(`owner chain incomplete: ConfigMap ${ns}/rollout-owner is of a kind the healer does not read, so whether it opted out is unknown`);
    expect(cooldownKey('local', evidence)).toBe(`local/${ns}/ConfigMap/rollout-owner`);
  });

  it('places any subject from metadata alone: undefined when gone, incomplete for a kind it does not read', async () => {
    // Act
    const gone = await reader.placementOf(incident('Pod', 'no-such-pod'));
    const hpa = await reader.placementOf(incident('HorizontalPodAutoscaler', 'zz-web', 'HpaMaxedOut'));
    const deployment = await reader.placementOf(incident('Deployment', 'web', 'DeploymentUnavailable'));

    // Assess
    expect(gone).toBeUndefined();
    expect(hpa).toMatchObject({ chain: [{ kind: 'HorizontalPodAutoscaler', name: 'zz-web', namespace: ns }], complete: false, optOut: false });
    expect(deployment).toMatchObject({ chain: [{ kind: 'Deployment', name: 'web', namespace: ns }], complete: true, optOut: false, gaps: [] });
  });
});

describe('governance lists past their first page', () => {
  it('finds the HPA and the PDB that are the 101st of their lists', async () => {
    // Prepare
    const pod = await podOf({ app: 'web' });

    // Act
    const deployment = await reader.gatherEvidence(incident('Deployment', 'web', 'WorkloadSaturated'));
    const podEvidence = await reader.gatherEvidence(incident('Pod', pod.metadata?.name ?? ''));

    // Assess
    expect(deployment.governance?.hpa).toMatchObject({ name: 'zz-web', maxReplicas: 4 });
    expect(podEvidence.governance).toMatchObject({ pdb: { name: 'zz-web' }, hpa: { name: 'zz-web' } });
    expect(deployment.gaps.filter((g) => /autoscaler|disruption/.test(g))).toEqual([]);
  });
});

describe('an owner the identity may not read', () => {
  it('is a gap that leaves the chain incomplete, the workload key on the Deployment, and needs no list, event or log', async () => {
    // Prepare (admin): an identity that may get pods, ReplicaSets and namespaces, nothing else.
    const name = `healer-no-deployments-${ns}`;
    const adminCore = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
    const adminObjects = KubernetesObjectApi.makeApiClient(loadKubeConfig(cluster.adminKubeconfigPath));
    await applyManifest(cluster.adminKubeconfigPath, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-deployments', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name },
        rules: [{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get'] }, { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] }],
      },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name: 'no-deployments', namespace: ns }] },
    ]);
    try {
      const token = (await waitFor(() => adminCore.createNamespacedServiceAccountToken({
        name: 'no-deployments',
        namespace: ns,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 600 } },
      }), { what: 'a token for no-deployments' })).status?.token ?? '';
      const kc = new KubeConfig();
      const caData = cluster.caCertPem ? Buffer.from(cluster.caCertPem).toString('base64') : undefined;
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: cluster.server, ...(caData ? { caData } : { skipTLSVerify: true }) }],
        users: [{ name: 'no-deployments', token }],
        contexts: [{ name: 'c', cluster: 'c', user: 'no-deployments' }],
        currentContext: 'c',
      });
      const restricted = new KubernetesCluster(kc, LIMITS, systemClock);
      const pod = await podOf({ app: 'web' });

      // Act (the binding reaches the authorizer through its informer: retry until the pod is readable)
      const placement = await waitFor(() => restricted.placementOf(incident('Pod', pod.metadata?.name ?? '')), { what: 'placementOf with pods readable' });

      // Assess
      expect(placement).toMatchObject({ optOut: false, namespaceOptOut: false, complete: false });
      expect(placement.chain.map((o) => `${o.kind}/${o.name}`)).toEqual([`Pod/${pod.metadata?.name ?? ''}`, expect.stringMatching(/^ReplicaSet\/web-/) as string, 'Deployment/web']);
      expect(placement.gaps).toEqual([expect.stringMatching(new RegExp(`^owner chain incomplete: Deployment ${ns}/web unreadable: HTTP 403`)) as string]);
      expect(cooldownKey('local', { ...(await reader.gatherEvidence(incident('Pod', pod.metadata?.name ?? ''))), ownerChain: placement.chain })).toBe(`local/${ns}/Deployment/web`);
    } finally {
      await adminObjects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name } }).catch(() => undefined);
      await adminObjects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name } }).catch(() => undefined);
    }
  });
});
