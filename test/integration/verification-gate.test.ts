/**
 * Reverts go through the same write gate as actions. On the control plane, as the healer's own
 * identity, with DynamoDB Local and moto SSM: a scale-up whose new pods never become available is
 * found failed by the delayed verification. With the runtime kill switch off it is scaled back;
 * with the kill switch set between the action and its verification, the revert is refused,
 * audited, and on-call is told it was not done.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api } from '@kubernetes/client-node';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { loadConfig } from '../../lib/config/config.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { verifyAction } from '../../lib/pipeline/verify.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { anIncident } from '../fixtures/builders.js';
import { acquireControlPlane, controlPlaneAvailable, createCrashLoopingDeployment, deleteNamespace, loadKubeConfig, waitFor, type ClusterInfo } from '../support/control-plane.js';
import { auditOf, CONNECTION_REFUSED_LOG } from '../support/crashloop-incidents.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { MemorySink, MetricsBuffer } from '../../lib/metrics/buffer.js';
import { readEmf, totals } from '../support/emf.js';

const kwokHere = !process.env.TEST_KUBECONFIG;

describe.skipIf(!controlPlaneAvailable() || !kwokHere)('a revert after a failed verification passes the write gate', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;
  let apps: AppsV1Api;
  const namespace = `verify-gate-${randomBytes(3).toString('hex')}`;
  const hex = () => randomBytes(16).toString('hex');

  const setKillSwitch = (name: string, value: 'on' | 'off') =>
    env.moto.ssm().send(new PutParameterCommand({ Name: name, Type: 'String', Value: value, Overwrite: true }));
  /** The worker's dependencies as a fresh container builds them, reading this kill switch. */
  const workerWith = async (killSwitchParam: string, metrics?: MetricsBuffer) => {
    const config = loadConfig({ ...process.env, HEALER_KILL_SWITCH_PARAM: killSwitchParam });
    // With metrics, wired as the Lambda function wires them (the notifier is counted too).
    const deps = await workerDeps(config, metrics ? { diagnoser: runbookDiagnoser, metrics } : { diagnoser: runbookDiagnoser });
    if (!deps.verifications) throw new Error('the healer env names no queue');
    return { ...deps, verifications: deps.verifications };
  };
  const replicasOf = async (name: string) => (await apps.readNamespacedDeployment({ name, namespace })).spec?.replicas;

  /**
   * A Deployment of one crash-looping pod, scaled to 2 through the gate (its new pod can never
   * become available), and the action recorded an hour ago, as remediate() records it.
   */
  async function failedScaleUp(name: string, killSwitchParam: string) {
    await createCrashLoopingDeployment({ namespace, name, previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 5, cluster });
    const d = await waitFor(async () => {
      const read = await apps.readNamespacedDeployment({ name, namespace });
      return (read.status?.observedGeneration ?? 0) >= (read.metadata?.generation ?? 1) && read.status?.replicas === 1 ? read : undefined;
    }, { what: `${name} observed`, timeoutMs: 30_000 });
    const incident = anIncident({ id: hex(), symptom: 'DeploymentUnavailable', subject: { kind: 'Deployment', name, namespace }, alertname: 'KubeDeploymentReplicasMismatch' });
    const plan: ActionPlan = {
      action: 'scale-deployment',
      target: { kind: 'Deployment', name, namespace, uid: d.metadata?.uid },
      resourceVersion: d.metadata?.resourceVersion,
      parameters: { replicas: 2 },
      fromReplicas: 1,
      summary: 'scale 1 -> 2',
    };
    const deps = await workerWith(killSwitchParam);
    const acted = await deps.gate.write({ kind: 'act', incident, plan });
    expect(acted.result?.ok, acted.result?.detail).toBe(true);
    const actionId = hex();
    await deps.actionRecords.put({ actionId, incident, plan, actedAt: new Date(Date.now() - 3600_000).toISOString() }, 3600, Date.now());
    return { incident, actionId };
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' });
    apps = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(AppsV1Api);
  }, 180_000);

  afterAll(async () => {
    if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
    await env?.stop();
    await release?.();
  });

  it('kill switch off: the failed scale-up is scaled back to what stood before', async () => {
    // Prepare
    const killSwitch = `/k8s-healer/test/kill-switch-${randomBytes(4).toString('hex')}`;
    await setKillSwitch(killSwitch, 'off');
    const { incident, actionId } = await failedScaleUp('revert-allowed', killSwitch);
    expect(await replicasOf('revert-allowed')).toBe(2);

    const sink = new MemorySink();
    const metrics = new MetricsBuffer('k8s-healer/test', sink, { now: () => Date.now() });

    // Act: the delayed check, in a later invocation.
    const result = await verifyAction({ type: 'verify', incidentId: incident.id, actionId, attempt: 3 }, await workerWith(killSwitch, metrics));
    metrics.flush();

    // Assess
    expect(result).toMatchObject({ status: 'failed' });
    expect(await replicasOf('revert-allowed')).toBe(1);
    const revert = (await auditOf(env, incident.id)).filter((e) => e.step === 'action' && e.detail.gate === 'revert');
    expect(revert.map((e) => e.detail.allowed)).toEqual([true]);
    const [page] = await env.inbox.receive(1, 3_000);
    expect(page?.message).toMatch(/Revert: done, scaled back to 1/);
    // A fix that did not hold pages again on the incident's key: never a resolve.
    expect(page?.attributes).toMatchObject({ event: 'trigger', severity: 'critical', action: 'scale-deployment' });
    // ... and the metrics say the same: one revert applied, one verification reverted, one page.
    const emitted = readEmf(sink.lines);
    expect(totals(emitted)).toEqual({
      'Actions{Action=scale-deployment,Outcome=applied,Write=revert}': 1,
      'Verifications{Result=reverted}': 1,
      'Notifications{Outcome=action-failed,Severity=critical}': 1,
      'Pages{Outcome=action-failed}': 1,
    });
    expect(new Set(emitted.map((m) => m.namespace))).toEqual(new Set(['k8s-healer/test']));
    // Ids are context, never dimensions.
    expect(emitted.find((m) => m.name === 'Verifications')?.document).toMatchObject({ incidentId: incident.id, action: 'scale-deployment' });
  });

  it('kill switch set between the action and its verification: the revert is refused, audited and reported', async () => {
    // Prepare: acted with the switch off, then an operator turns it on.
    const killSwitch = `/k8s-healer/test/kill-switch-${randomBytes(4).toString('hex')}`;
    await setKillSwitch(killSwitch, 'off');
    const { incident, actionId } = await failedScaleUp('revert-stopped', killSwitch);
    await setKillSwitch(killSwitch, 'on');

    const sink = new MemorySink();
    const metrics = new MetricsBuffer('k8s-healer/test', sink, { now: () => Date.now() });

    // Act
    const result = await verifyAction({ type: 'verify', incidentId: incident.id, actionId, attempt: 3 }, await workerWith(killSwitch, metrics));
    metrics.flush();

    // Assess: the verification still fails and pages; the count the healer set stays.
    expect(result).toMatchObject({ status: 'failed' });
    expect(await replicasOf('revert-stopped')).toBe(2);
    const revert = (await auditOf(env, incident.id)).filter((e) => e.step === 'action' && e.detail.gate === 'revert');
    expect(revert).toHaveLength(1);
    expect(revert[0]?.detail).toMatchObject({ allowed: false, deniedBy: 'kill-switch' });
    const [page] = await env.inbox.receive(1, 3_000);
    expect(page?.attributes).toMatchObject({ severity: 'critical' });
    expect(page?.message).toMatch(/Revert: not done/);
    expect(totals(readEmf(sink.lines))).toEqual({
      'Actions{Action=scale-deployment,Outcome=refused,Write=revert}': 1,
      'Verifications{Result=failed}': 1,
      'Notifications{Outcome=action-failed,Severity=critical}': 1,
      'Pages{Outcome=action-failed}': 1,
    });
  });
});
