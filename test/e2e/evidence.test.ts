import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  deleteNamespace,
  ensureNamespace,
  listPods,
  loadKubeConfig,
  waitFor,
  waitForReadyPods,
  type ClusterInfo,
} from '../support/control-plane.js';
import { KubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { diagnoseByRunbook } from '../../lib/diagnose/runbook.js';
import { anIncident } from '../fixtures/builders.js';

/**
 * Evidence for scenario 2, the bad release, read with the healer's scoped identity on the local
 * control plane: a Deployment whose revision 2 crash-loops while revision 1 still serves, covered
 * by a PodDisruptionBudget and an HPA and marked as managed by Argo CD. The evidence names the
 * revisions and what changed, and the runbook pages instead of restarting.
 */
let cluster: ClusterInfo;
let release: () => Promise<void>;
const namespace = `evidence-${Date.now().toString(36)}`;

function deployment(image: string, crashing: boolean, env: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace, labels: { app: 'web', 'argocd.argoproj.io/instance': 'shop' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: 'web', ...(crashing ? { 'healer-test/behaviour': 'crashloop' } : {}) }, annotations: { 'healer-test/crashloop-period': '2s' } },
        spec: { containers: [{ name: 'web', image, env: [{ name: 'CONFIG_VERSION', value: env }], resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m' } } }] },
      },
    },
  };
}

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
}, 180_000);

afterAll(async () => {
  if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
  await release?.();
});

describe('evidence on a bad release', () => {
  it('shows the rollout, what changed, the PDB, the HPA and the GitOps owner; the runbook pages', async () => {
    // Prepare: revision 1 healthy, then revision 2 (new image and env) crash-looping.
    await ensureNamespace(cluster.adminKubeconfigPath, namespace);
    await applyManifest(cluster.adminKubeconfigPath, deployment('shop/web:1.4.1', false, 'v1'));
    await waitForReadyPods(cluster.adminKubeconfigPath, namespace, { app: 'web' }, 2);
    await applyManifest(cluster.adminKubeconfigPath, [
      { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 6 } },
    ]);
    await applyManifest(cluster.adminKubeconfigPath, deployment('shop/web:1.5.0', true, 'v2'));
    const crashing = await waitFor(async () => (await listPods(cluster.adminKubeconfigPath, namespace, { app: 'web' })).find((p: V1Pod) =>
      (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')), { what: 'a crash-looping revision-2 pod', timeoutMs: 60_000 });
    const reader = new KubernetesCluster(loadKubeConfig(cluster.healerKubeconfigPath), { logTailLines: 50, logLimitBytes: 8192, eventsLimit: 20 }, { now: () => Date.now() });
    const incident = anIncident({ subject: { kind: 'Pod', name: crashing.metadata?.name ?? '', namespace } });

    // Act
    const evidence = await reader.gatherEvidence(incident);
    const diagnosis = diagnoseByRunbook(incident, evidence);

    // Assess
    expect(evidence.rollout).toMatchObject({ deployment: 'web', podRevision: 2, newestRevision: 2 });
    expect(evidence.rollout?.revisions.map((r) => r.images)).toEqual([['shop/web:1.5.0'], ['shop/web:1.4.1']]);
    expect(evidence.rollout?.changes).toEqual(expect.arrayContaining(['container web image shop/web:1.4.1 -> shop/web:1.5.0', 'container web env CONFIG_VERSION changed']));
    // The apiserver defaults an unset memory request to the limit.
    expect(evidence.resources).toEqual([{ container: 'web', requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '256Mi' } }]);
    expect(evidence.governance).toMatchObject({ pdb: { name: 'web' }, hpa: { name: 'web', minReplicas: 2, maxReplicas: 6 }, gitops: 'argocd' });
    expect(evidence.node?.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).toBe(true);
    expect(evidence.gaps.filter((g) => !g.startsWith('previous logs')), evidence.gaps.join('; ')).toEqual([]);
    expect(diagnosis).toMatchObject({ recommendation: 'page', category: 'bad-release', restartCanHelp: false });
  }, 120_000);
});
