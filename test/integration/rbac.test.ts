import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api as CoreV1ApiType,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  ensureNamespace,
  loadKubeConfig,
  setPodLogs,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';
import { KubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { systemClock } from '../../lib/ports/index.js';

/**
 * infra/rbac.yaml gives the healer exactly what it needs: read pods, their logs, events,
 * ReplicaSets, Deployments, namespaces and nodes, list what the scan's snapshot holds (nodes, Jobs,
 * CronJobs, StatefulSets, DaemonSets), and evict pods. Everything else is refused with 403 by the
 * real RBAC authorizer, using the healer's own ServiceAccount token (TokenRequest API).
 */
const available = controlPlaneAvailable();
const kwokHere = !process.env.TEST_KUBECONFIG;

async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

describe.skipIf(!available)('healer RBAC (infra/rbac.yaml)', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let adminCore: CoreV1ApiType;
  let healerCore: CoreV1ApiType;
  let healerApps: AppsV1Api;
  let healerBatch: BatchV1Api;
  let healerObjects: KubernetesObjectApi;
  let ns: string;
  let podName: string;

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    const admin = loadKubeConfig(cluster.adminKubeconfigPath);
    const healer = loadKubeConfig(cluster.healerKubeconfigPath);
    adminCore = admin.makeApiClient(CoreV1Api);
    healerCore = healer.makeApiClient(CoreV1Api);
    healerApps = healer.makeApiClient(AppsV1Api);
    healerBatch = healer.makeApiClient(BatchV1Api);
    healerObjects = KubernetesObjectApi.makeApiClient(healer);

    // Prepare (admin): a Deployment with one running pod, a Secret and a ConfigMap.
    ns = `rbac-${randomBytes(3).toString('hex')}`;
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    await applyManifest(cluster.adminKubeconfigPath, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }] } },
        },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password', namespace: ns }, stringData: { password: 'hunter2' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { mode: 'safe' } },
    ]);
    const [pod] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
    podName = pod!.metadata!.name!;
    if (kwokHere) await setPodLogs({ namespace: ns, podName, container: 'app', current: 'listening on :8080\n', previous: 'oom\n' });
  }, 180_000);

  afterAll(async () => {
    await adminCore?.deleteNamespace({ name: ns }).catch(() => undefined);
    await release?.();
  }, 60_000);

  it('authenticates as the k8s-healer ServiceAccount', async () => {
    // Act
    const review = await loadKubeConfig(cluster.healerKubeconfigPath)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });

    // Assess
    expect(review.status?.userInfo?.username).toBe('system:serviceaccount:k8s-healer:k8s-healer');
  });

  it('reads pods, events, owners, namespaces, nodes, disruption budgets and autoscalers', async () => {
    // Act + Assess
    const pods = await healerCore.listNamespacedPod({ namespace: ns });
    expect(pods.items.map((p) => p.metadata?.name)).toContain(podName);
    expect((await healerCore.readNamespacedPod({ name: podName, namespace: ns })).metadata?.name).toBe(podName);
    expect((await healerCore.listPodForAllNamespaces({ labelSelector: 'app=web' })).items.length).toBeGreaterThan(0);
    await healerCore.listNamespacedEvent({ namespace: ns });
    await healerObjects.list('events.k8s.io/v1', 'Event', ns);
    expect((await healerApps.listNamespacedReplicaSet({ namespace: ns })).items).toHaveLength(1);
    expect((await healerApps.readNamespacedDeployment({ name: 'web', namespace: ns })).metadata?.name).toBe('web');
    expect((await healerCore.readNamespace({ name: ns })).metadata?.name).toBe(ns);
    const nodeName = (await adminCore.readNamespacedPod({ name: podName, namespace: ns })).spec?.nodeName;
    expect((await healerCore.readNode({ name: nodeName! })).metadata?.name).toBe(nodeName);
    await healerObjects.list('policy/v1', 'PodDisruptionBudget', ns);
    await healerObjects.list('autoscaling/v2', 'HorizontalPodAutoscaler', ns);
  });

  it('lists, cluster-wide, everything the scan snapshot holds', async () => {
    // Act
    const nodes = await healerCore.listNode({ limit: 500 });
    const listed = {
      jobs: await statusOf(() => healerBatch.listJobForAllNamespaces({ limit: 500 })),
      cronjobs: await statusOf(() => healerBatch.listCronJobForAllNamespaces({ limit: 500 })),
      statefulsets: await statusOf(() => healerApps.listStatefulSetForAllNamespaces({ limit: 500 })),
      daemonsets: await statusOf(() => healerApps.listDaemonSetForAllNamespaces({ limit: 500 })),
      'warning events': await statusOf(() => healerCore.listEventForAllNamespaces({ fieldSelector: 'type=Warning', limit: 500 })),
      // 404, not 403: the request was authorized, the object just does not exist.
      'get a job': await statusOf(() => healerBatch.readNamespacedJob({ name: 'absent', namespace: ns })),
      'get a cronjob': await statusOf(() => healerBatch.readNamespacedCronJob({ name: 'absent', namespace: ns })),
      // Read up a pod's owner chain for their opt-out.
      'get a statefulset': await statusOf(() => healerApps.readNamespacedStatefulSet({ name: 'absent', namespace: ns })),
      'get a daemonset': await statusOf(() => healerApps.readNamespacedDaemonSet({ name: 'absent', namespace: ns })),
    };
    const read = await new KubernetesCluster(loadKubeConfig(cluster.healerKubeconfigPath), { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock).readSnapshot();

    // Assess
    expect(nodes.items.length).toBeGreaterThan(0);
    expect(listed).toEqual({ jobs: 200, cronjobs: 200, statefulsets: 200, daemonsets: 200, 'warning events': 200, 'get a job': 404, 'get a cronjob': 404, 'get a statefulset': 404, 'get a daemonset': 404 });
    expect(read.gaps).toEqual([]);
    expect(read.snapshot.pods?.some((p) => p.namespace === ns && p.name === podName)).toBe(true);
    expect(read.snapshot.nodes?.length).toBe(nodes.items.length);
  });

  it.skipIf(!kwokHere)('reads current and previous pod logs', async () => {
    // Act
    const current = await healerCore.readNamespacedPodLog({ name: podName, namespace: ns, container: 'app' });
    const previous = await healerCore.readNamespacedPodLog({ name: podName, namespace: ns, container: 'app', previous: true });

    // Assess
    expect(current).toBe('listening on :8080\n');
    expect(previous).toBe('oom\n');
  });

  it('reads the snapshot it may, and names each list it may not as a gap', async () => {
    // Prepare (admin): an identity that may list pods and nothing else.
    const name = `healer-pods-only-${ns}`;
    await applyManifest(cluster.adminKubeconfigPath, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pods-only', namespace: ns } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name: 'pods-only', namespace: ns }],
      },
    ]);
    const adminObjects = KubernetesObjectApi.makeApiClient(loadKubeConfig(cluster.adminKubeconfigPath));
    try {
      const token = (await waitFor(() => adminCore.createNamespacedServiceAccountToken({
        name: 'pods-only',
        namespace: ns,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 600 } },
      }), { what: 'a token for pods-only' })).status?.token ?? '';
      const kc = new KubeConfig();
      const caData = cluster.caCertPem ? Buffer.from(cluster.caCertPem).toString('base64') : undefined;
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: cluster.server, ...(caData ? { caData } : { skipTLSVerify: true }) }],
        users: [{ name: 'pods-only', token }],
        contexts: [{ name: 'c', cluster: 'c', user: 'pods-only' }],
        currentContext: 'c',
      });
      const reader = new KubernetesCluster(kc, { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock);

      // Act (the binding reaches the authorizer through its informer: retry until pods are readable)
      const read = await waitFor(async () => {
        const r = await reader.readSnapshot();
        return r.snapshot.pods ? r : undefined;
      }, { what: 'readSnapshot with pods readable' });

      // Assess: pods read; every other list a 403 gap, in list order, and left out of the snapshot.
      expect(read.snapshot.pods?.some((p) => p.namespace === ns && p.name === podName)).toBe(true);
      expect(Object.keys(read.snapshot)).toEqual(['pods']);
      expect(read.gaps.map((g) => g.split(' ')[0])).toEqual(['deployments', 'replicasets', 'jobs', 'cronjobs', 'statefulsets', 'daemonsets', 'nodes', 'events']);
      expect(read.gaps.every((g) => g.includes('not listed: HTTP 403'))).toBe(true);
    } finally {
      await adminObjects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name } }).catch(() => undefined);
      await adminObjects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name } }).catch(() => undefined);
    }
  });

  it('is refused (403) everything outside its role', async () => {
    // Act
    const refused = {
      'delete a deployment': await statusOf(() => healerApps.deleteNamespacedDeployment({ name: 'web', namespace: ns })),
      'list secrets': await statusOf(() => healerCore.listNamespacedSecret({ namespace: ns })),
      'get a secret': await statusOf(() => healerCore.readNamespacedSecret({ name: 'db-password', namespace: ns })),
      'list secrets cluster-wide': await statusOf(() => healerCore.listSecretForAllNamespaces()),
      'patch a configmap': await statusOf(() =>
        healerObjects.patch(
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { mode: 'unsafe' } } as KubernetesObject,
          undefined, undefined, undefined, undefined, PatchStrategy.MergePatch,
        )),
      'create a pod': await statusOf(() =>
        healerCore.createNamespacedPod({
          namespace: ns,
          body: { metadata: { name: 'intruder' }, spec: { containers: [{ name: 'sh', image: 'busybox' }] } },
        })),
      'delete a pod': await statusOf(() => healerCore.deleteNamespacedPod({ name: podName, namespace: ns })),
      'scale a deployment': await statusOf(() =>
        healerApps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { spec: { replicas: 0 } } })),
      'delete a node': await statusOf(() => healerCore.deleteNode({ name: 'kwok-node-0' })),
      'watch pods': await statusOf(() => healerCore.listPodForAllNamespaces({ watch: true, timeoutSeconds: 1 })),
      'watch nodes': await statusOf(() => healerCore.listNode({ watch: true, timeoutSeconds: 1 })),
      // Cordon is a patch of the node; replacing it or writing its status is not.
      'replace a node': await statusOf(async () =>
        healerCore.replaceNode({ name: 'kwok-node-0', body: await adminCore.readNode({ name: 'kwok-node-0' }) })),
      'write node status': await statusOf(async () =>
        healerCore.replaceNodeStatus({ name: 'kwok-node-0', body: await adminCore.readNode({ name: 'kwok-node-0' }) })),
      // A rollout restart is a patch; replacing or deleting the Deployment, or other workloads, is not.
      'replace a deployment': await statusOf(async () =>
        healerApps.replaceNamespacedDeployment({ name: 'web', namespace: ns, body: await healerApps.readNamespacedDeployment({ name: 'web', namespace: ns }) })),
      'write deployment status': await statusOf(async () =>
        healerApps.replaceNamespacedDeploymentStatus({ name: 'web', namespace: ns, body: await healerApps.readNamespacedDeployment({ name: 'web', namespace: ns }) })),
      'patch a statefulset': await statusOf(() =>
        healerApps.patchNamespacedStatefulSet({ name: 'absent', namespace: ns, body: { spec: { replicas: 0 } } })),
      'scale a statefulset': await statusOf(() =>
        healerApps.replaceNamespacedStatefulSetScale({ name: 'absent', namespace: ns, body: { metadata: { name: 'absent' }, spec: { replicas: 0 } } })),
      'patch a daemonset': await statusOf(() =>
        healerApps.patchNamespacedDaemonSet({ name: 'absent', namespace: ns, body: { spec: {} } })),
      'delete a replicaset': await statusOf(() => healerApps.deleteNamespacedReplicaSet({ name: 'absent', namespace: ns })),
      'delete jobs in bulk': await statusOf(() => healerBatch.deleteCollectionNamespacedJob({ namespace: ns })),
      'patch a job': await statusOf(() => healerBatch.patchNamespacedJob({ name: 'absent', namespace: ns, body: { spec: { suspend: true } } })),
      // Getting a StatefulSet is allowed (its opt-out is read up the owner chain); its scale is not.
      'get a statefulset scale': await statusOf(() => healerApps.readNamespacedStatefulSetScale({ name: 'absent', namespace: ns })),
      'create a job': await statusOf(() =>
        healerBatch.createNamespacedJob({
          namespace: ns,
          body: { metadata: { name: 'intruder' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'sh', image: 'busybox' }] } } } },
        })),
      'delete a cronjob': await statusOf(() => healerBatch.deleteNamespacedCronJob({ name: 'absent', namespace: ns })),
      'delete a disruption budget': await statusOf(() => healerObjects.delete({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: ns } })),
      'create an autoscaler': await statusOf(() =>
        healerObjects.create({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: ns }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 } } as KubernetesObject)),
    };

    // Assess: every one is 403 Forbidden (not 404 or 401: the request was authenticated and denied)
    expect(refused).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, 403])));
    expect((await adminCore.readNamespacedConfigMap({ name: 'settings', namespace: ns })).data?.mode).toBe('safe');
  });

  it('may patch a Deployment only to restart it, and a Node only to cordon it (infra/admission-policy.yaml)', async () => {
    // Prepare
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const patchDeployment = (body: object) => statusOf(() => healerApps.patchNamespacedDeployment({ name: 'web', namespace: ns, body, dryRun: 'All' }, merge));
    const patchNode = (body: object) => statusOf(() => healerCore.patchNode({ name: 'kwok-node-0', body, dryRun: 'All' }, merge));
    const template = (metadata: object, spec: object = {}) => ({ spec: { template: { metadata, ...spec } } });

    // Act (server-side dry runs: admission runs, nothing is stored)
    const answers = {
      'restart (restartedAt)': await patchDeployment(template({ annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } })),
      'replicas by patch': await patchDeployment({ spec: { replicas: 5 } }),
      'another image': await patchDeployment(template({}, { spec: { containers: [{ name: 'app', image: 'registry.example.com/evil:1' }] } })),
      'another template annotation': await patchDeployment(template({ annotations: { 'sidecar.example/inject': 'true' } })),
      'a Deployment label': await patchDeployment({ metadata: { labels: { owner: 'healer' } } }),
      'pause the rollout': await patchDeployment({ spec: { paused: true } }),
      cordon: await patchNode({ spec: { unschedulable: true } }),
      'a Node taint': await patchNode({ spec: { taints: [{ key: 'evil', effect: 'NoSchedule' }] } }),
      'a Node label': await patchNode({ metadata: { labels: { 'node-role.kubernetes.io/evil': '' } } }),
    };

    // Assess
    expect(answers).toEqual({
      'restart (restartedAt)': 200,
      'replicas by patch': 403,
      'another image': 403,
      'another template annotation': 403,
      'a Deployment label': 403,
      'pause the rollout': 403,
      cordon: 200,
      'a Node taint': 403,
      'a Node label': 403,
    });
  });

  it('evicts a pod, and the ReplicaSet replaces it', async () => {
    // Act
    await healerCore.createNamespacedPodEviction({
      name: podName,
      namespace: ns,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace: ns } },
    });

    // Assess
    await waitFor(async () => (await statusOf(() => adminCore.readNamespacedPod({ name: podName, namespace: ns }))) === 404, {
      what: `evicted pod ${podName} to be deleted`,
    });
    const [replacement] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
    expect(replacement!.metadata!.name).not.toBe(podName);
  });
});
