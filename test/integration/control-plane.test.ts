import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreV1Api as CoreV1ApiType, V1Pod } from '@kubernetes/client-node';
import {
  AppsV1Api,
  CoreV1Api,
  acquireControlPlane,
  applyManifest,
  controlPlaneAvailable,
  createCrashLoopingDeployment,
  ensureNamespace,
  listPods,
  loadKubeConfig,
  setPodLogs,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';

/**
 * The local control plane behaves like a cluster where it matters to the healer: kwok plays the
 * kubelet of fake nodes (pods run and report status, crash loops look like a kubelet reports them,
 * container logs come through the apiserver's pods/log), and kube-controller-manager replaces
 * evicted pods. No mocks: every call goes to the real kube-apiserver.
 */
const available = controlPlaneAvailable();
// Crash loops and logs need our kwok stages and local log files; an external cluster may lack them.
const kwokHere = !process.env.TEST_KUBECONFIG;

describe.skipIf(!available)('local control plane', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let core: CoreV1ApiType;
  const namespaces: string[] = [];

  const freshNamespace = async (prefix: string) => {
    const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    namespaces.push(ns);
    return ns;
  };

  const deployment = (namespace: string, name: string, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }] },
      },
    },
  });

  beforeAll(async () => {
    const t0 = Date.now();
    ({ cluster, release } = await acquireControlPlane());
    console.info(`[control-plane.test] control plane acquired in ${Date.now() - t0} ms`);
    core = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
  }, 180_000);

  afterAll(async () => {
    // Namespace deletion finishes in the background (namespace controller + kwok pod-delete stage).
    for (const ns of namespaces) await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    await release?.();
  }, 60_000);

  it('runs a Deployment with Ready pods on the kwok node', async () => {
    // Prepare
    const ns = await freshNamespace('ready');

    // Act
    await applyManifest(cluster.adminKubeconfigPath, deployment(ns, 'web', 2));

    // Assess
    const pods = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 2);
    for (const pod of pods) {
      if (cluster.kwok) expect(cluster.kwok.nodeNames).toContain(pod.spec?.nodeName);
      expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'app', ready: true, restartCount: 0 });
      expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    }
    const apps = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(AppsV1Api);
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'web', namespace: ns })).status?.readyReplicas === 2, {
      what: 'Deployment web to report 2 ready replicas',
    });
  });

  it.skipIf(!kwokHere)('reports a crash-looping pod the way a kubelet does', async () => {
    // Prepare
    const ns = await freshNamespace('crash');

    // Act
    const d = await createCrashLoopingDeployment({ namespace: ns, name: 'worker', previousLog: 'boom\n', restartPeriodSeconds: 1 });

    // Assess: waiting CrashLoopBackOff, last termination exit 1 / Error, restarts climbing, not Ready
    const first = await waitFor(async () => {
      const [pod] = await listPods(cluster.adminKubeconfigPath, ns, d.selector);
      return pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? pod : undefined;
    }, { what: 'a pod in CrashLoopBackOff' });
    const cs = first.status!.containerStatuses![0]!;
    expect(cs.name).toBe(d.container);
    expect(cs.ready).toBe(false);
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(first.status?.phase).toBe('Running');
    expect(first.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');

    const later = await waitFor(async () => {
      const pod = await core.readNamespacedPod({ name: first.metadata!.name!, namespace: ns });
      return (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= cs.restartCount + 2 ? pod : undefined;
    }, { what: 'restartCount to climb by 2', timeoutMs: 20_000 });
    expect(later.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');

    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${first.metadata!.name!}` });
    expect(events.items.some((e) => e.type === 'Warning' && e.reason === 'BackOff')).toBe(true);
  });

  it.skipIf(!kwokHere)('serves current and previous container logs through the apiserver pods/log path', async () => {
    // Prepare: a crash-looping Deployment (ClusterLogs) and a running pod (per-pod Logs)
    const ns = await freshNamespace('logs');
    const previousLog = 'starting worker 2.1.0\npanic: runtime error: invalid memory address\n';
    const d = await createCrashLoopingDeployment({ namespace: ns, name: 'worker', previousLog, currentLog: 'starting worker 2.1.0\n' });
    await applyManifest(cluster.adminKubeconfigPath, deployment(ns, 'web', 1));
    const [web] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
    const crashing = await waitFor(async () => (await listPods(cluster.adminKubeconfigPath, ns, d.selector)).find((p) => p.spec?.nodeName), {
      what: 'the crash-looping pod to be bound to a node',
    });

    // Act
    await setPodLogs({ namespace: ns, podName: web!.metadata!.name!, container: 'app', current: 'serving on :8080\n', previous: 'old instance log\nshutting down\n' });
    const read = (pod: V1Pod, container: string, previous: boolean) =>
      core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns, container, previous });

    // Assess
    expect(await read(crashing, d.container, true)).toBe(previousLog);
    expect(await read(crashing, d.container, false)).toBe('starting worker 2.1.0\n');
    expect(await read(web!, 'app', false)).toBe('serving on :8080\n');
    expect(await read(web!, 'app', true)).toBe('old instance log\nshutting down\n');

    // Changing the text takes effect for the next request.
    await setPodLogs({ namespace: ns, podName: web!.metadata!.name!, container: 'app', current: 'v2\n', previous: 'v1 died\n' });
    expect(await read(web!, 'app', true)).toBe('v1 died\n');
  });

  it('replaces an evicted pod of a ReplicaSet with a new running pod', async () => {
    // Prepare
    const ns = await freshNamespace('evict');
    await applyManifest(cluster.adminKubeconfigPath, deployment(ns, 'web', 1));
    const [before] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
    const name = before!.metadata!.name!;

    // Act
    await core.createNamespacedPodEviction({
      name,
      namespace: ns,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
    });

    // Assess: the evicted pod is gone (kwok finished its deletion) and a different pod runs
    await waitFor(async () => {
      try {
        await core.readNamespacedPod({ name, namespace: ns });
        return false;
      } catch (err) {
        return (err as { code?: number }).code === 404;
      }
    }, { what: `evicted pod ${name} to be deleted` });
    const [after] = await waitForReadyPods(cluster.adminKubeconfigPath, ns, { app: 'web' }, 1);
    expect(after!.metadata!.uid).not.toBe(before!.metadata!.uid);
    expect(after!.metadata!.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
  });
});
