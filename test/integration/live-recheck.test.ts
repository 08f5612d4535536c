import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, controlPlaneAvailable, createCrashLoopingDeployment, deleteNamespace, loadKubeConfig, type ClusterInfo } from '../support/control-plane.js';
import { auditOf, CONNECTION_REFUSED_LOG, crashLoopIncident, waitForCrashLoopingPods } from '../support/crashloop-incidents.js';
import { loadConfig } from '../../lib/config/config.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import type { Diagnoser } from '../../lib/ports/index.js';

/**
 * Policy decides on the live state read right before acting, not on the evidence the diagnosis
 * saw: a diagnosis can take seconds (a model, an investigation), and the world moves meanwhile.
 * Here the pod is replaced while the (runbook) diagnosis "thinks"; the worker reads again, finds
 * the diagnosed pod gone, and does nothing.
 */
const available = controlPlaneAvailable() && !process.env.TEST_KUBECONFIG;
const namespace = `recheck-${randomBytes(3).toString('hex')}`;

describe.skipIf(!available)('live state re-checked right before acting', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' });
  }, 120_000);

  afterAll(async () => {
    await deleteNamespace(cluster.adminKubeconfigPath, namespace).catch(() => undefined);
    await env?.stop();
    await release?.();
  }, 60_000);

  it('does not evict a pod that was replaced while the diagnosis ran: audited as already healthy', async () => {
    // Prepare: a crash loop the runbook would evict, and a diagnosis during which someone deletes the pod.
    const app = await createCrashLoopingDeployment({ namespace, name: 'api', previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 2 });
    const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, 1);
    const name = pod?.metadata?.name ?? '';
    const admin = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
    const slowDiagnosis: Diagnoser = {
      async diagnose(incident, evidence, options) {
        const diagnosis = await runbookDiagnoser.diagnose(incident, evidence, options);
        await admin.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
        return diagnosis;
      },
    };
    const deps = await workerDeps(loadConfig(), { diagnoser: slowDiagnosis });
    const incident = crashLoopIncident(namespace, name);

    // Act
    const report = await remediate(incident, deps);

    // Assess: the diagnosis proposed the eviction, the live read refused it
    expect(report.diagnosis?.recommendation).toBe('evict-pod');
    expect(report.outcome).toBe('already-healthy');
    expect(report.decision?.allowed).toBe(false);
    expect(report.decision?.verdicts.find((v) => v.rule === 'still-unhealthy')?.reason).toMatch(/no longer exists|being deleted/);
    const entries = await auditOf(env, incident.id);
    expect(entries.some((e) => e.step === 'action')).toBe(false);
  });
});
