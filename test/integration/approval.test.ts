import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * and are audited; an approved action that cannot complete (the cluster unreachable) pages. (A valid link acting once, a replay and a forgery: test/e2e/scenarios.test.ts.)
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

  /** The next page that matches, skipping (at most five) pages earlier tests left in the inbox. */
  async function pageWhere(matches: (page: Awaited<ReturnType<HealerEnv['inbox']['receive']>>[number]) => boolean) {
    for (let tries = 0; tries < 6; tries++) {
      const [page] = await env.inbox.receive(1, 10_000);
      if (!page) return undefined;
      if (matches(page)) return page;
    }
    return undefined;
  }

  /** Runs the worker on the incident and returns the approval token from the page it sent. */
  async function requestApproval(name: string): Promise<string> {
    const report = await remediate(saturated(name), deps);
    expect(report.outcome).toBe('awaiting-approval');
    const page = await pageWhere((p) => /\/approve\?token=/.test(p.message));
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
    await Promise.all(['expiring', 'moving', 'rejected', 'stranded'].map((name) => healthyDeployment(namespace, name, 1)));
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

  /** A closed port on 127.0.0.1: nothing listens there once this returns. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (typeof address !== 'object' || address === null) throw new Error('no port');
    return address.port;
  }

  it('pages when an approved action cannot complete (the cluster unreachable): the link is used up, audited, never silent', async () => {
    // Prepare: the approval is requested; by the time a human confirms, the API server is gone
    // (the healer's own kubeconfig, pointed at a port nothing listens on).
    const token = await requestApproval('stranded');
    const dir = mkdtempSync(join(tmpdir(), 'healer-unreachable-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(cluster.healerKubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${await closedPort()}`));
    // The kubeconfig is read from the process's KUBECONFIG (client-node's loadFromDefault).
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    const stranded = await workerDeps(loadConfig()).finally(() => {
      process.env.KUBECONFIG = previous;
      rmSync(dir, { recursive: true, force: true });
    });
    const post = (using: typeof deps) => handleApprovalRequest(
      { method: 'POST', query: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, by: 'bob@example.com' }).toString(), isBase64Encoded: false, sourceIp: '192.0.2.6' },
      using,
    );

    // Act
    const failure = await post(stranded).then((r) => `answered ${r.statusCode}`, (e: unknown) => (e instanceof Error ? e.message : String(e)));
    const retried = await post(deps);

    // Assess: the error surfaces, on-call hears the approved action was not done, and the link
    // cannot be replayed into an action nobody is watching.
    expect(failure).toMatch(/fetch failed|ECONNREFUSED/);
    const page = await pageWhere((p) => p.subject?.includes('(approved, failed part-way)') === true);
    expect(page?.attributes).toMatchObject({ severity: 'critical', outcome: 'paged', action: 'scale-deployment', event: 'trigger' });
    expect(page?.message).toMatch(/An approved action failed part-way: .*ECONNREFUSED/);
    expect(page?.page?.pagerduty).toMatchObject({ dedup_key: saturated('stranded').id });
    expect(retried.statusCode).toBe(410);
    expect((await apps.readNamespacedDeployment({ name: 'stranded', namespace })).spec?.replicas).toBe(1);
    const audited = await approvalsAudited('stranded');
    expect(audited.find((e) => e.detail['failed'] !== undefined)?.detail['approver']).toMatchObject({ claimedBy: 'bob@example.com' });
  });
});
