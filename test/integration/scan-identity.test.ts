import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  deleteNamespace,
  ensureNamespace,
  HEALER_NAMESPACE,
  loadKubeConfig,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';
import { KubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { RESTARTED_AT } from '../../lib/adapters/kubernetes-actions.js';
import { describeKubeError } from '../../lib/adapters/kube-errors.js';
import { systemClock } from '../../lib/ports/index.js';

/**
 * The scheduled scan runs as its own ServiceAccount, k8s-healer-scan (infra/rbac.yaml), whose
 * kubeconfig is the only one its Lambda can read (serverless.yml, infra/iam.yml). It lists what
 * one snapshot holds and nothing more: every write, and every other verb, is refused. Should a
 * write role ever be bound to it, infra/admission-policy.yaml still refuses its writes.
 */
const available = controlPlaneAvailable();
const kwokHere = !process.env.TEST_KUBECONFIG;
const SCAN_SA = 'k8s-healer-scan';
const SCAN_USER = `system:serviceaccount:${HEALER_NAMESPACE}:${SCAN_SA}`;

/** What readSnapshot (lib/adapters/kubernetes.ts) lists, cluster-wide: group/resource. */
const SNAPSHOT_LISTS = ['/pods', 'apps/deployments', 'apps/replicasets', 'batch/jobs', 'batch/cronjobs', 'apps/statefulsets', 'apps/daemonsets', '/nodes', '/events'];

async function answer(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'allowed';
  } catch (err) {
    if (typeof (err as { code?: unknown }).code !== 'number') throw err;
    return describeKubeError(err);
  }
}

describe.skipIf(!available)('the scan\'s read-only identity (k8s-healer-scan)', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let adminCore: CoreV1Api;
  let adminAuthz: AuthorizationV1Api;
  let scan: KubeConfig;
  const ns = `scan-identity-${randomBytes(3).toString('hex')}`;
  let podName: string;
  let nodeName: string;

  /** Does RBAC let the scan's identity do this? (SubjectAccessReview, asked by the admin.) */
  async function scanMay(verb: string, groupResource: string, subresource?: string): Promise<boolean> {
    const [group, resource] = groupResource.split('/') as [string, string];
    const review = await adminAuthz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: SCAN_USER,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${HEALER_NAMESPACE}`, 'system:authenticated'],
          resourceAttributes: { namespace: ns, verb, group, resource, ...(subresource ? { subresource } : {}) },
        },
      },
    });
    return review.status?.allowed === true;
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    const admin = loadKubeConfig(cluster.adminKubeconfigPath);
    adminCore = admin.makeApiClient(CoreV1Api);
    adminAuthz = admin.makeApiClient(AuthorizationV1Api);

    // Prepare (admin): a Deployment with one pod and a Job, targets for the writes below.
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
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'batch', namespace: ns },
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.example.com/job:1' }] } } },
      },
    ]);
    if (kwokHere) {
      const [pod] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
      podName = pod!.metadata!.name!;
    } else {
      podName = (await waitFor(async () => (await adminCore.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items[0], { what: 'a pod of web' })).metadata!.name!;
    }
    nodeName = (await adminCore.listNode({ limit: 1 })).items[0]!.metadata!.name!;

    // The scan's kubeconfig: a token for its ServiceAccount (TokenRequest API), as deployed.
    const token = (await waitFor(() => adminCore.createNamespacedServiceAccountToken({
      name: SCAN_SA,
      namespace: HEALER_NAMESPACE,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 600 } },
    }), { what: `a token for ${HEALER_NAMESPACE}/${SCAN_SA}` })).status?.token ?? '';
    scan = new KubeConfig();
    const caData = cluster.caCertPem ? Buffer.from(cluster.caCertPem).toString('base64') : undefined;
    scan.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, ...(caData ? { caData } : { skipTLSVerify: true }) }],
      users: [{ name: SCAN_SA, token }],
      contexts: [{ name: 'c', cluster: 'c', user: SCAN_SA }],
      currentContext: 'c',
    });
  }, 180_000);

  afterAll(async () => {
    await deleteNamespace(cluster.adminKubeconfigPath, ns).catch(() => undefined);
    await release?.();
  }, 60_000);

  it('authenticates as the k8s-healer-scan ServiceAccount', async () => {
    // Act
    const review = await scan.makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });

    // Assess
    expect(review.status?.userInfo?.username).toBe(SCAN_USER);
  });

  it('reads the whole scan snapshot, with no gaps', async () => {
    // Act
    const read = await new KubernetesCluster(scan, { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock).readSnapshot();

    // Assess
    expect(read.gaps).toEqual([]);
    expect(read.snapshot.pods?.some((p) => p.namespace === ns && p.name === podName)).toBe(true);
    expect(read.snapshot.nodes?.some((n) => n.name === nodeName)).toBe(true);
    expect(Object.keys(read.snapshot).sort()).toEqual(['deployments', 'events', 'jobs', 'nodes', 'pods', 'replicaSets', 'workloads']);
  });

  it('holds exactly the snapshot\'s lists: no get, no watch, no write (SelfSubjectRulesReview)', async () => {
    // Act
    const review = await scan.makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: ns } },
    });

    // Assess: apart from asking about itself (system:basic-user, every authenticated user), exactly list on the snapshot's resources
    const granted = (review.status?.resourceRules ?? [])
      .filter((r) => !(r.apiGroups ?? []).every((g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io'))
      .flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`))));
    expect(review.status?.incomplete).toBe(false);
    expect(granted.sort()).toEqual(SNAPSHOT_LISTS.map((gr) => `${gr}:list`).sort());
  });

  it('is refused every other verb on what it lists, and the healer\'s write subresources (SubjectAccessReview)', async () => {
    // Act
    const verbs = ['get', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
    const allowed: string[] = [];
    for (const gr of SNAPSHOT_LISTS) {
      for (const verb of verbs) if (await scanMay(verb, gr)) allowed.push(`${verb} ${gr}`);
    }
    for (const [verb, gr, sub] of [['create', '/pods', 'eviction'], ['update', 'apps/deployments', 'scale'], ['patch', 'apps/deployments', 'scale'], ['get', '/pods', 'log'], ['list', '/secrets', undefined], ['get', '/secrets', undefined]] as const) {
      if (await scanMay(verb, gr, sub)) allowed.push(`${verb} ${gr}${sub ? `/${sub}` : ''}`);
    }

    // Assess
    expect(allowed).toEqual([]);
    expect(await scanMay('list', 'apps/deployments')).toBe(true);
  });

  it('is refused (403) each of the healer\'s five writes', async () => {
    // Prepare
    const core = scan.makeApiClient(CoreV1Api);
    const apps = scan.makeApiClient(AppsV1Api);
    const batch = scan.makeApiClient(BatchV1Api);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

    // Act: exactly the requests KubernetesActor makes
    const answers = {
      'evict a pod': await answer(() => core.createNamespacedPodEviction({ name: podName, namespace: ns, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace: ns } } })),
      'restart a Deployment': await answer(() => apps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } } } }, merge)),
      'scale a Deployment': await answer(() => apps.replaceNamespacedDeploymentScale({ name: 'web', namespace: ns, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: ns }, spec: { replicas: 2 } } })),
      'delete a Job': await answer(() => batch.deleteNamespacedJob({ name: 'batch', namespace: ns, body: { propagationPolicy: 'Background' } })),
      'cordon a Node': await answer(() => core.patchNode({ name: nodeName, body: { spec: { unschedulable: true } } }, merge)),
    };

    // Assess: refused by RBAC (not 404: the objects exist)
    for (const [what, a] of Object.entries(answers)) expect(a, what).toMatch(new RegExp(`^HTTP 403: .*User "${SCAN_USER}" cannot`));
    expect((await adminCore.readNode({ name: nodeName })).spec?.unschedulable).not.toBe(true);
  });

  it('is refused its writes at admission even if a write role is bound to it by mistake', async () => {
    // Prepare (admin): bind a role that lets the scan's identity patch Deployments in the namespace
    const objects = KubernetesObjectApi.makeApiClient(loadKubeConfig(cluster.adminKubeconfigPath));
    await applyManifest(cluster.adminKubeconfigPath, [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'mistake', namespace: ns }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'mistake', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mistake' },
        subjects: [{ kind: 'ServiceAccount', name: SCAN_SA, namespace: HEALER_NAMESPACE }],
      },
    ]);
    await waitFor(() => scanMay('patch', 'apps/deployments'), { what: 'the mistaken binding to reach the authorizer' });
    const apps = scan.makeApiClient(AppsV1Api);

    try {
      // Act
      const refusal = await answer(() => apps.patchNamespacedDeployment(
        { name: 'web', namespace: ns, body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } } }, dryRun: 'All' },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ));

      // Assess
      expect(refusal).toMatch(/^HTTP 403: .*ValidatingAdmissionPolicy 'k8s-healer-scan-never-writes'.*k8s-healer-scan is read-only/);
    } finally {
      await objects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'mistake', namespace: ns } }).catch(() => undefined);
    }
  });
});
