import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { serveHttpApi } from '../../lib/local/http-api.js';

/**
 * The alertmanager-webhook Lambda handler, served as API Gateway would serve it, on DynamoDB Local
 * and moto SQS: good payloads are deduplicated and enqueued, bad ones get a clear 4xx and
 * enqueue nothing.
 */
const fixture = readFileSync(new URL('../fixtures/alertmanager/kube-pod-crashlooping.json', import.meta.url), 'utf8');

let env: HealerEnv;
let url: string;
let close: () => Promise<void>;

async function post(body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${url}/alerts`, { method: 'POST', body, headers });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const auth = () => ({ authorization: `Bearer ${env.token}`, 'content-type': 'application/json' });

beforeAll(async () => {
  env = await startHealerEnv({ HEALER_MAX_BODY_BYTES: String(64 * 1024), HEALER_MAX_ALERTS_PER_PAYLOAD: '50' });
  const { handler } = await import('../../functions/alertmanager-webhook.js');
  ({ url, close } = await serveHttpApi({ 'POST /alerts': handler }));
});

afterAll(async () => {
  await close?.();
  await env?.stop();
});

describe('alertmanager-webhook', () => {
  it.each([
    ['no token', {}, fixture, 401],
    ['a wrong token', { authorization: 'Bearer not-the-token' }, fixture, 403],
    ['a basic-auth header', { authorization: 'Basic dXNlcjpwYXNz' }, fixture, 401],
    ['a body that is not JSON', 'AUTH', '{"version": "4", ', 400],
    ['a wrong schema', 'AUTH', JSON.stringify({ version: '4', alerts: 'many' }), 422],
    ['a non-v4 payload', 'AUTH', fixture.replace('"version": "4"', '"version": "3"'), 422],
    ['an oversized body', 'AUTH', JSON.stringify({ pad: 'x'.repeat(70 * 1024) }), 413],
    ['an empty body', 'AUTH', '', 400],
  ] as const)('rejects %s with a clear 4xx and enqueues nothing', async (_name, headers, body, status) => {
    // Prepare
    const h = headers === 'AUTH' ? auth() : { 'content-type': 'application/json', ...headers };
    // Act
    const response = await post(body, h);
    // Assess
    expect(response.status).toBe(status);
    expect(typeof response.json['error']).toBe('string');
    expect(await env.queueDepth()).toBe(0);
    expect(await env.stateItemCount()).toBe(0);
  });

  it('rejects a wrong content type', async () => {
    const response = await post(fixture, { authorization: `Bearer ${env.token}`, 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(await env.queueDepth()).toBe(0);
  });

  it('hostile payloads never crash it and never enqueue (property)', async () => {
    // Prepare: arbitrary JSON, and valid payloads with hostile label values and shapes.
    const hostileLabel = fc.oneof(fc.string({ maxLength: 50 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant('x'.repeat(5000)));
    const hostileAlert = fc.record({
      status: fc.constantFrom('firing', 'resolved', 'FIRING', 42),
      labels: fc.dictionary(fc.string({ maxLength: 20 }), hostileLabel, { maxKeys: 5 }),
      startsAt: fc.oneof(fc.string({ maxLength: 40 }), fc.integer()),
    });
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.record({ version: fc.constant('4'), groupKey: fc.string(), status: fc.constant('firing'), receiver: fc.string(), alerts: fc.array(hostileAlert, { maxLength: 5 }) }),
      fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.record({ a: tie('deep') })) })).deep,
    );
    const depthBefore = await env.queueDepth();
    let acceptedIncidents = 0;
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        // Act
        const response = await post(JSON.stringify(value), auth());
        // Assess: a 4xx with a message, or accepted; never a 5xx.
        expect(response.status).toBeLessThan(500);
        if (response.status === 202) acceptedIncidents += Number(response.json['enqueued']);
        else expect(typeof response.json['error']).toBe('string');
      }),
      { numRuns: 60 },
    );
    // Only what was accepted reached the queue: a rejection never enqueues as a side effect.
    expect(await env.queueDepth()).toBe(depthBefore + acceptedIncidents);
  });

  it('rejects a payload with more alerts than allowed (a storm in one request)', async () => {
    // Prepare: 51 small alerts against a limit of 50.
    const many = JSON.parse(fixture) as { alerts: { labels: Record<string, string>; annotations: object }[] };
    const template = many.alerts[1]!;
    many.alerts = Array.from({ length: 51 }, (_, i) => ({ ...template, labels: { ...template.labels, pod: `p-${i}` } }));
    const depthBefore = await env.queueDepth();
    // Act
    const response = await post(JSON.stringify(many), auth());
    // Assess
    expect(response.status).toBe(413);
    expect(response.json['error']).toMatch(/more than 50 alerts/);
    expect(await env.queueDepth()).toBe(depthBefore);
  });

  it('enqueues one incident per firing alert, skips resolved ones, and deduplicates a re-send', async () => {
    // Prepare
    const before = await env.queueDepth();
    // Act
    const first = await post(fixture, auth());
    const again = await post(fixture, auth());
    // Assess
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ enqueued: 2, duplicates: 0 });
    expect(first.json['skipped']).toEqual(['KubePodCrashLooping is resolved']);
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ enqueued: 0, duplicates: 2 });
    expect(await env.queueDepth()).toBe(before + 2);
  });
});

describe('alertmanager-webhook: basic auth and resolved alerts', () => {
  const BASIC = 'alertmanager:correct horse:battery';
  const basicHeader = (credentials: string) => ({
    authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    'content-type': 'application/json',
  });
  const captured = (name: string) => readFileSync(new URL(`../fixtures/alertmanager/${name}.json`, import.meta.url), 'utf8');
  let basicUrl: string;
  let closeBasic: () => Promise<void>;

  beforeAll(async () => {
    // A second instance of the handler, configured with basic auth (config is read at cold start).
    const { vi } = await import('vitest');
    process.env['HEALER_WEBHOOK_BASIC_AUTH'] = BASIC;
    vi.resetModules();
    const { handler } = await import('../../functions/alertmanager-webhook.js');
    const { serveHttpApi: serve } = await import('../../lib/local/http-api.js');
    ({ url: basicUrl, close: closeBasic } = await serve({ 'POST /alerts': handler }));
  });

  afterAll(async () => {
    await closeBasic?.();
    delete process.env['HEALER_WEBHOOK_BASIC_AUTH'];
  });

  const postTo = async (base: string, body: string, headers: Record<string, string>) => {
    const response = await fetch(`${base}/alerts`, { method: 'POST', body, headers });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it('accepts basic auth (as Alertmanager sends it) and enqueues the incident', async () => {
    // Prepare: a real captured payload for a Deployment.
    const depthBefore = await env.queueDepth();
    // Act
    const response = await postTo(basicUrl, captured('KubeDeploymentReplicasMismatch'), basicHeader(BASIC));
    // Assess
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ enqueued: 1, duplicates: 0, resolved: 0, skipped: [] });
    expect(await env.queueDepth()).toBe(depthBefore + 1);
  });

  it.each([
    ['a wrong password', basicHeader('alertmanager:wrong'), 403],
    ['a wrong user', basicHeader('someone:correct horse:battery'), 403],
    ['malformed basic credentials', { authorization: 'Basic not-base64!', 'content-type': 'application/json' }, 401],
    ['no credentials', { 'content-type': 'application/json' }, 401],
  ] as const)('refuses %s with a clear message and enqueues nothing', async (_what, headers, status) => {
    // Prepare
    const depthBefore = await env.queueDepth();
    const stateBefore = await env.stateItemCount();
    // Act
    const response = await postTo(basicUrl, captured('KubeHpaMaxedOut'), headers);
    // Assess
    expect(response.status).toBe(status);
    expect(response.json['error']).toEqual(expect.any(String));
    expect(JSON.stringify(response.json)).not.toContain('battery');
    expect(await env.queueDepth()).toBe(depthBefore);
    expect(await env.stateItemCount()).toBe(stateBefore);
  });

  it('still accepts the bearer token when basic auth is also configured', async () => {
    const response = await postTo(basicUrl, captured('KubeJobFailed'), auth());
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ enqueued: 1 });
  });

  it('never enqueues a resolved-only payload: it is counted as resolved', async () => {
    // Prepare: Alertmanager's real resolved notification.
    const depthBefore = await env.queueDepth();
    const stateBefore = await env.stateItemCount();
    // Act
    const response = await post(captured('resolved-KubePodCrashLooping'), auth());
    // Assess
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ received: 1, enqueued: 0, duplicates: 0, resolved: 1, skipped: ['KubePodCrashLooping is resolved'], skippedByReason: { resolved: 1 } });
    expect(await env.queueDepth()).toBe(depthBefore);
    expect(await env.stateItemCount()).toBe(stateBefore);
  });

  it('names every skipped alert in the log with its reason, and counts them by reason in the answer', async () => {
    // Prepare: Alertmanager's real payload, relabelled for another cluster, plus one with no subject.
    const payload = JSON.parse(captured('KubePodCrashLooping')) as { alerts: { labels: Record<string, string> }[] };
    const [first] = payload.alerts;
    if (!first) throw new Error('fixture has no alert');
    payload.alerts = [{ ...first, labels: { ...first.labels, cluster: 'prod-eu' } }, { ...first, labels: { alertname: 'Watchdog', severity: 'none' } }];
    const lines: string[] = [];
    // Log lines are written whole to stdout (lib/wiring/middleware.ts), not through console.
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(...String(chunk).split('\n').filter((l) => l.startsWith('{')));
      return true;
    });

    // Act
    const response = await post(JSON.stringify(payload), auth()).finally(() => spy.mockRestore());

    // Assess
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ enqueued: 0, skippedByReason: { 'other-cluster': 1, 'no-subject-label': 1 } });
    const skippedLog = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'alert skipped');
    expect(skippedLog.map((l) => l.reason)).toEqual([
      "KubePodCrashLooping is for cluster prod-eu, not local",
      expect.stringMatching(/^Watchdog has no subject label/),
    ]);
  });
});
