import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, deleteNamespace, createCrashLoopingDeployment, listPods, waitFor, type ClusterInfo } from '../support/control-plane.js';
import { loadConfig } from '../../lib/config/config.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { remediate, type RemediationReport } from '../../lib/pipeline/remediate.js';
import { incidentId } from '../../lib/intake/incidents.js';
import { mapWithConcurrency } from '../../lib/util/concurrency.js';
import type { Diagnoser } from '../../lib/ports/index.js';
import type { Incident } from '../../lib/domain/types.js';

/**
 * Scenario 14, the alert storm: 200 crash-looping pods across 4 Deployments with the same root
 * cause. The worker, with its real adapters (scoped identity, DynamoDB Local, moto SNS), handles
 * them 8 at a time as Lambda's reserved concurrency would, and makes one incident per owner:
 * 4 diagnoses, 4 notifications, 196 incidents recorded as grouped.
 */
const DEPLOYMENTS = 4;
const REPLICAS = 50;

let cluster: ClusterInfo;
let release: () => Promise<void>;
let env: HealerEnv;
let namespace = '';

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
  env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'true' });
}, 180_000);

afterAll(async () => {
  if (namespace) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
  await env?.stop();
  await release?.();
});

describe('alert storm', () => {
  it('makes one incident per owner: at most one diagnosis and one page each', async () => {
    // Prepare: 4 Deployments x 50 crash-looping pods, all with the same dependency failure.
    namespace = `storm-${Date.now().toString(36)}`;
    const apps = await Promise.all(Array.from({ length: DEPLOYMENTS }, (_, i) =>
      createCrashLoopingDeployment({ namespace, name: `svc-${i}`, replicas: REPLICAS, previousLog: 'dial tcp 10.0.0.9:6379: connect: connection refused', restartPeriodSeconds: 5 })));
    const pods = await waitFor(async () => {
      const all: V1Pod[] = [];
      for (const app of apps) all.push(...await listPods(cluster.adminKubeconfigPath, namespace, app.selector));
      const crashing = all.filter((p) => (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
      return crashing.length === DEPLOYMENTS * REPLICAS ? crashing : undefined;
    }, { what: `${DEPLOYMENTS * REPLICAS} crash-looping pods`, timeoutMs: 150_000, intervalMs: 1_000 });
    const incidents: Incident[] = pods.map((p) => ({
      id: incidentId('local', namespace, 'Pod', p.metadata?.name ?? '', 'CrashLoopBackOff'),
      cluster: 'local',
      source: 'alertmanager',
      symptom: 'CrashLoopBackOff',
      subject: { kind: 'Pod', name: p.metadata?.name ?? '', namespace },
      alertname: 'KubePodCrashLooping',
      severity: 'warning',
      labels: {},
      annotations: {},
      detectedAt: new Date().toISOString(),
    }));
    let diagnoses = 0;
    const countingRunbook: Diagnoser = {
      diagnose: (incident, evidence, options) => {
        diagnoses++;
        return runbookDiagnoser.diagnose(incident, evidence, options);
      },
    };
    const deps = await workerDeps(loadConfig(), { diagnoser: countingRunbook });

    // Act
    const reports: RemediationReport[] = await mapWithConcurrency(incidents, 8, (incident) => remediate(incident, deps));

    // Assess
    const handled = reports.filter((r) => r.outcome !== 'duplicate');
    expect(handled).toHaveLength(DEPLOYMENTS);
    expect(handled.every((r) => r.outcome === 'dry-run')).toBe(true);
    expect(diagnoses).toBe(DEPLOYMENTS);
    expect(reports.filter((r) => r.outcome === 'duplicate')).toHaveLength(DEPLOYMENTS * REPLICAS - DEPLOYMENTS);
    const notifications = await env.inbox.receive(DEPLOYMENTS + 1, 10_000);
    expect(notifications).toHaveLength(DEPLOYMENTS);
    expect(new Set(notifications.map((n) => /svc-\d/.exec(n.subject ?? '')?.[0]))).toEqual(new Set(apps.map((a) => a.name)));
  }, 240_000);
});
