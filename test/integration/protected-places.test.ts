/**
 * Protected places send nothing out (issue 9 item 4). On the control plane, as the healer's own
 * identity, with the real Anthropic SDK against the local Messages API, DynamoDB Local and moto:
 * a crash-looping pod in kube-system whose previous log holds a password gets a short page from
 * metadata alone. No log or event is read, nothing reaches the model, the page and the audit hold
 * no log text. With HEALER_DIAGNOSE_PROTECTED=true the model may diagnose it (redacted), and the
 * healer still never acts there.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { acquireControlPlane, controlPlaneAvailable, createCrashLoopingDeployment, listPods, loadKubeConfig, type ClusterInfo } from '../support/control-plane.js';
import { auditOf, crashLoopIncident, waitForCrashLoopingPods } from '../support/crashloop-incidents.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { startMessagesApiServer, steps, type MessagesApiServer } from '../support/messages-api-server.js';

const kwokHere = !process.env.TEST_KUBECONFIG;
const KEY = 'sk-ant-test-protected-00000000000000000000';
const PASSWORD = 'Xk2pQ9vLmN3wR7tZ';
const LOG_LINE = 'error: dial tcp 10.96.0.12:5432: connect: connection refused';

describe.skipIf(!controlPlaneAvailable() || !kwokHere)('a crash-looping pod in kube-system', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;
  let model: MessagesApiServer;
  const name = `guarded-${randomBytes(3).toString('hex')}`;
  let incident: ReturnType<typeof crashLoopIncident>;
  let podUid: string | undefined;

  const workerWith = (extra: Record<string, string>) =>
    workerDeps(loadConfig({ ...process.env, ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: model.baseURL, HEALER_MODEL_MAX_STEPS: '1', ...extra }));
  const everything = async () => JSON.stringify({ audit: await auditOf(env, incident.id), pages: await env.inbox.receive(3, 3_000), model: model.requests });

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    [env, model] = await Promise.all([
      startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' }),
      startMessagesApiServer({ apiKey: KEY }),
    ]);
    const app = await createCrashLoopingDeployment({ namespace: 'kube-system', name, previousLog: `starting with DB_PASSWORD=${PASSWORD}\n${LOG_LINE}\nexiting`, restartPeriodSeconds: 5, cluster });
    const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, 'kube-system', app.selector, 1);
    podUid = pod?.metadata?.uid;
    incident = crashLoopIncident('kube-system', pod?.metadata?.name ?? '');
  }, 180_000);

  afterAll(async () => {
    if (cluster) await loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name, namespace: 'kube-system' }).catch(() => undefined);
    await Promise.all([env?.stop(), model?.close()]);
    await release?.();
  });

  it('gets a short page from metadata alone: nothing read, nothing sent to the model, no log text anywhere', async () => {
    // Prepare
    model.reset();

    // Act
    const report = await remediate(incident, await workerWith({}));

    // Assess
    expect(report.outcome).toBe('paged');
    const trail = await auditOf(env, incident.id);
    expect(trail.find((e) => e.step === 'decision')?.detail).toMatchObject({ allowed: false, deniedBy: 'protected-place', evidenceRead: false });
    expect(trail.some((e) => e.step === 'evidence' || e.step === 'diagnosis' || e.step === 'action')).toBe(false);
    const sent = await everything();
    expect(JSON.parse(sent)).toMatchObject({ model: [] });
    expect(sent).toContain('namespace kube-system is protected');
    expect(sent).not.toContain(PASSWORD);
    expect(sent).not.toContain('connection refused');
    expect((await listPods(cluster.adminKubeconfigPath, 'kube-system', { app: name })).map((p) => p.metadata?.uid)).toContain(podUid);
  });

  it('with HEALER_DIAGNOSE_PROTECTED=true: diagnosed (redacted), never acted on', async () => {
    // Prepare: a new incident id, so neither dedup nor the done marker links the two cases.
    const again = { ...incident, id: randomBytes(16).toString('hex') };
    incident = again;
    model.reset();
    model.enqueue(steps.verdict({
      summary: 'a kube-system pod crash-loops after its database refused connections',
      rootCause: 'The previous container exited 1 after connection refused from 10.96.0.12:5432.',
      category: 'transient-crash',
      confidence: 0.95,
      evidenceCited: ['previous log: connection refused', 'exit code 1'],
      restartCanHelp: true,
      recommendation: 'evict-pod',
      target: { kind: 'Pod', name: again.subject.name, namespace: 'kube-system' },
    }));

    // Act
    const report = await remediate(again, await workerWith({ HEALER_DIAGNOSE_PROTECTED: 'true' }));

    // Assess
    expect(report.outcome).toBe('paged');
    expect(report.decision).toMatchObject({ allowed: false });
    expect(model.requests.length).toBeGreaterThan(0);
    const sent = await everything();
    expect(sent).not.toContain(PASSWORD);
    expect((await auditOf(env, again.id)).some((e) => e.step === 'action')).toBe(false);
    expect((await listPods(cluster.adminKubeconfigPath, 'kube-system', { app: name })).map((p) => p.metadata?.uid)).toContain(podUid);
  });
});
