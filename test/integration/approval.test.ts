import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, controlPlaneAvailable, deleteNamespace, loadKubeConfig, type ClusterInfo } from '../support/control-plane.js';
import { healthyDeployment } from '../support/scenario-workloads.js';
import { loadConfig } from '../../lib/config/config.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import { handleApprovalRequest } from '../../lib/approval/http.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { Incident } from '../../lib/domain/types.js';

/**
 * Out-of-band approval against the real API server, DynamoDB Local and moto: a scale-up that this
 * site gates behind approval (HEALER_APPROVAL_ACTIONS) waits for a human; a link past its expiry,
 * and a link for a Deployment that changed since (another resourceVersion), do nothing, say so,
 * and are audited. (A valid link acting once, a replay and a forgery: test/e2e/scenarios.test.ts.)
 */
const available = controlPlaneAvailable() && !process.env.TEST_KUBECONFIG;
const namespace = `approval-${randomBytes(3).toString('hex')}`;

describe.skipIf(!available)('approval links', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;
  let deps: Awaited<ReturnType<typeof workerDeps>>;
  let apps: AppsV1Api;
  let expiringToken = '';

  const saturated = (name: string): Incident => ({
    id: incidentId('local', namespace, 'Deployment', name, 'WorkloadSaturated'),
    cluster: 'local',
    source: 'alertmanager',
    symptom: 'WorkloadSaturated',
    subject: { kind: 'Deployment', name, namespace },
    alertname: 'CheckoutLatencyHigh',
    severity: 'warning',
    labels: { alertname: 'CheckoutLatencyHigh', namespace, deployment: name },
    annotations: {},
    detectedAt: new Date().toISOString(),
  });

  /** Runs the worker on the incident and returns the approval token from the page it sent. */
  async function requestApproval(name: string): Promise<string> {
    const report = await remediate(saturated(name), deps);
    expect(report.outcome).toBe('awaiting-approval');
    const [page] = await env.inbox.receive(1, 10_000);
    const link = /https?:\/\/\S+\/approve\?token=\S+/.exec(page?.message ?? '')?.[0];
    expect(link).toBeDefined();
    return new URL(link ?? 'http://x').searchParams.get('token') ?? '';
  }

  const confirm = (token: string, clockMs?: number) =>
    handleApprovalRequest(
      { method: 'POST', query: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString(), isBase64Encoded: false, sourceIp: '192.0.2.7', userAgent: 'test' },
      clockMs === undefined ? deps : { ...deps, clock: { now: () => clockMs } },
    );

  const approvalsAudited = async (name: string) =>
    (await new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(saturated(name).id)).filter((e) => e.step === 'approval');

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({
      KUBECONFIG: cluster.healerKubeconfigPath,
      HEALER_DRY_RUN: 'false',
      HEALER_APPROVAL_ACTIONS: 'scale-deployment',
      HEALER_APPROVAL_KEY: randomBytes(32).toString('hex'),
      HEALER_APPROVAL_URL: 'https://healer.example/approve',
      HEALER_APPROVAL_TTL_SECONDS: '600',
    });
    deps = await workerDeps(loadConfig());
    apps = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(AppsV1Api);
    await Promise.all([healthyDeployment(namespace, 'expiring', 1), healthyDeployment(namespace, 'moving', 1), healthyDeployment(namespace, 'rejected', 1)]);
  }, 180_000);

  afterAll(async () => {
    await deleteNamespace(cluster.adminKubeconfigPath, namespace).catch(() => undefined);
    await env?.stop();
    await release?.();
  }, 60_000);

  it('answers bad requests clearly and never acts: no token, a garbage token, a JSON body, another method', async () => {
    // Prepare
    const request = (method: string, query: Record<string, string>, body?: string, type = 'application/x-www-form-urlencoded') =>
      handleApprovalRequest({ method, query, headers: { 'content-type': type }, body, isBase64Encoded: false, sourceIp: '192.0.2.9' }, deps);
    // Act
    const answers = {
      'GET without a token': (await request('GET', {})).statusCode,
      'GET with garbage': (await request('GET', { token: '<script>alert(1)</script>' })).statusCode,
      'GET with an unknown id': (await request('GET', { token: `${'b'.repeat(32)}.9999999999999.${'A'.repeat(43)}` })).statusCode,
      'POST as JSON': (await request('POST', {}, JSON.stringify({ token: 'x' }), 'application/json')).statusCode,
      'POST without a body': (await request('POST', {})).statusCode,
      'POST a huge form': (await request('POST', {}, `token=${'a'.repeat(10_000)}`)).statusCode,
      PUT: (await request('PUT', {})).statusCode,
    };
    const garbage = await request('GET', { token: '<script>alert(1)</script>' });
    // Assess
    expect(answers).toEqual({
      'GET without a token': 400,
      'GET with garbage': 400,
      'GET with an unknown id': 400,
      'POST as JSON': 400,
      'POST without a body': 400,
      'POST a huge form': 400,
      PUT: 405,
    });
    expect(garbage.body).not.toContain('<script>');
    expect((await apps.readNamespacedDeployment({ name: 'expiring', namespace })).spec?.replicas).toBe(1);
  });

  it('waits for a human: nothing is scaled until the link is confirmed', async () => {
    expiringToken = await requestApproval('expiring');
    expect((await apps.readNamespacedDeployment({ name: 'expiring', namespace })).spec?.replicas).toBe(1);
  });

  it('records a rejection, ends the approval so a later approve is refused, and changes nothing', async () => {
    // Prepare
    const token = await requestApproval('rejected');
    const post = (decision: string) => handleApprovalRequest(
      { method: 'POST', query: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, decision, by: 'alice@example.com' }).toString(), isBase64Encoded: false, sourceIp: '192.0.2.8' },
      deps,
    );

    // Act
    const rejected = await post('reject');
    const approvedAfter = await post('approve');
    const bogus = await post('maybe');

    // Assess: rejected (200), then the approve is refused as used (410); a third word is a 400.
    expect([rejected.statusCode, approvedAfter.statusCode, bogus.statusCode]).toEqual([200, 410, 400]);
    expect(rejected.body).toContain('Rejected: nothing was done');
    expect((await apps.readNamespacedDeployment({ name: 'rejected', namespace })).spec?.replicas).toBe(1);
    const audited = await approvalsAudited('rejected');
    expect(audited.find((e) => e.detail['rejected'] !== undefined)?.detail['approver']).toMatchObject({ claimedBy: 'alice@example.com', sourceIp: '192.0.2.8' });
    expect(audited.some((e) => e.detail['refused'] === 'used')).toBe(true);
    const trail = await new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(saturated('rejected').id);
    expect(trail.filter((e) => e.step === 'outcome').at(-1)).toMatchObject({ outcome: 'no-action', detail: { rejected: true } });
    const [page] = await env.inbox.receive(1, 10_000);
    expect(page?.subject).toContain('(rejected)');
  });

  it('refuses a link past its expiry (410), changes nothing, and audits the attempt', async () => {
    // Act: the link of the request above, confirmed eleven minutes later (links live ten here).
    const response = await confirm(expiringToken, Date.now() + 11 * 60_000);
    // Assess
    expect(response.statusCode).toBe(410);
    expect(response.body).toMatch(/expired/);
    expect((await apps.readNamespacedDeployment({ name: 'expiring', namespace })).spec?.replicas).toBe(1);
    expect((await approvalsAudited('expiring')).some((e) => e.detail['refused'] === 'expired' && (e.detail['approver'] as Record<string, string>)['sourceIp'] === '192.0.2.7')).toBe(true);
  });

  it('refuses a link for a Deployment that changed since (409), even though policy would allow the action now', async () => {
    // Prepare: the approval is requested, then someone edits the Deployment (a new resourceVersion).
    const token = await requestApproval('moving');
    await apps.patchNamespacedDeployment({ name: 'moving', namespace, body: { metadata: { labels: { edited: 'by-a-human' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    // Act
    const response = await confirm(token);
    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatch(/changed since/);
    expect((await apps.readNamespacedDeployment({ name: 'moving', namespace })).spec?.replicas).toBe(1);
    const audited = await approvalsAudited('moving');
    expect(audited.map((e) => e.detail['refused'] ?? (e.detail['approved'] ? 'approved' : 'requested'))).toEqual(['requested', 'approved', 'the target changed since the approval was requested']);
  });
});
