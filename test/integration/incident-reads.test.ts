import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, controlPlaneAvailable, createCrashLoopingDeployment, deleteNamespace, type ClusterInfo } from '../support/control-plane.js';
import { CONNECTION_REFUSED_LOG, crashLoopIncident, waitForCrashLoopingPods } from '../support/crashloop-incidents.js';
import { loadConfig } from '../../lib/config/config.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import type { Diagnoser } from '../../lib/ports/index.js';

/**
 * What one incident asks of the API server (issue 13: the owner chain was walked four times and
 * the evidence read twice). The worker's requests are counted where every one passes
 * (BoundedKubeConfig.onRequest), for a crash-looping pod the runbook evicts, for real. The
 * placement read before the owner claim serves the first evidence; the live re-read after the
 * diagnosis and the write gate's re-check each read the objects afresh (those are safety reads),
 * and the live re-read keeps the cluster text (events, logs) the diagnosis saw.
 */
const available = controlPlaneAvailable() && !process.env.TEST_KUBECONFIG;
const namespace = `reads-${randomBytes(3).toString('hex')}`;

describe.skipIf(!available)('API server requests per incident', () => {
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

  it('reads the subject, its owners, events and logs once before the diagnosis; the live re-read and the gate read the facts afresh', async () => {
    // Prepare: a crash loop the runbook evicts; every request of the worker is tallied, and where the diagnosis fell
    const app = await createCrashLoopingDeployment({ namespace, name: 'api', previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 2 });
    const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, 1);
    const name = pod?.metadata?.name ?? '';
    const replicaSet = pod?.metadata?.ownerReferences?.find((o) => o.controller)?.name ?? '';
    const requests: string[] = [];
    let diagnosedAt = -1;
    const diagnoser: Diagnoser = {
      diagnose(incident, evidence, options) {
        diagnosedAt = requests.length;
        return runbookDiagnoser.diagnose(incident, evidence, options);
      },
    };
    const deps = await workerDeps(loadConfig(), { diagnoser });
    deps.kubeConfig.onRequest = (method, url) => requests.push(`${method} ${new URL(url).pathname}`);

    // Act
    const report = await remediate(crashLoopIncident(namespace, name), deps);
    deps.kubeConfig.onRequest = undefined;

    // Assess: the eviction happened; the pod and its ReplicaSet were read once before the diagnosis
    expect(report.outcome).toBe('acted');
    const before = requests.slice(0, diagnosedAt);
    const count = (list: readonly string[], path: string) => list.filter((r) => r === `GET ${path}`).length;
    const podPath = `/api/v1/namespaces/${namespace}/pods/${name}`;
    const replicaSetPath = `/apis/apps/v1/namespaces/${namespace}/replicasets/${replicaSet}`;
    const namespacePath = `/api/v1/namespaces/${namespace}`;
    const tally = new Map<string, number>();
    for (const r of requests) tally.set(r, (tally.get(r) ?? 0) + 1);
    console.log(`requests for one evicted pod: ${requests.length} (${before.length} before the diagnosis)\n${[...tally].map(([r, n]) => `${n} ${r}`).join('\n')}`);
    expect(count(before, podPath)).toBe(1);
    expect(count(before, replicaSetPath)).toBe(1);
    expect(count(before, namespacePath)).toBe(1);
    // After it: the live re-read and the write gate each read the pod and walk its chain again
    // (verification reads them too), while the events and the log the diagnosis saw are not read again.
    const after = requests.slice(diagnosedAt);
    expect(count(after, podPath)).toBeGreaterThanOrEqual(2);
    expect(count(after, replicaSetPath)).toBeGreaterThanOrEqual(2);
    expect(count(after, `/api/v1/namespaces/${namespace}/events`)).toBe(0);
    expect(count(after, `${podPath}/log`)).toBe(0);
    expect(count(before, `/api/v1/namespaces/${namespace}/events`)).toBe(3);
  });
});
