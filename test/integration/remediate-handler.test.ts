import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { freePort } from '../support/process.js';
import { localContext } from '../../lib/local/http-api.js';
import { anIncident } from '../fixtures/builders.js';

/**
 * The remediate Lambda handler's failure paths, on DynamoDB Local and moto: a malformed message
 * goes back to SQS (and so to the DLQ), an unreachable cluster is retried, and the last delivery
 * pages on-call instead of vanishing into the DLQ. The "unreachable cluster" is a real kubeconfig
 * pointing at a port nobody listens on.
 */
let env: HealerEnv;
let handler: (event: SQSEvent, context: ReturnType<typeof localContext>) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

function record(body: string, receives: number, id = `m-${receives}-${Math.random()}`): SQSRecord {
  return {
    messageId: id,
    receiptHandle: 'rh',
    body,
    attributes: { ApproximateReceiveCount: String(receives), SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:incidents',
    awsRegion: 'us-east-1',
  };
}

beforeAll(async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'healer-nocluster-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: gone',
    'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:' + port + '", insecure-skip-tls-verify: true}}]',
    'users: [{name: healer, user: {token: not-a-real-token}}]',
    'contexts: [{name: gone, context: {cluster: gone, user: healer}}]', '',
  ].join('\n'));
  env = await startHealerEnv({ KUBECONFIG: kubeconfig, HEALER_DRY_RUN: 'false' });
  ({ handler } = await import('../../functions/remediate.js'));
});

afterAll(async () => {
  await env?.stop();
});

describe('remediate handler', () => {
  it('returns a malformed message as failed, so SQS moves it to the dead-letter queue', async () => {
    // Prepare
    const bad = record('{"id": "not-an-incident"}', 1, 'bad-1');
    // Act
    const result = await handler({ Records: [bad] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'bad-1' }]);
  });

  it('returns a malformed verification message as failed (to the DLQ), without touching the cluster', async () => {
    // Prepare: shaped like a re-check, but its plan names an action outside the allowlist, and one lacks its incident.
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4' });
    const plan = { action: 'delete-namespace', target: { kind: 'Namespace', name: 'shop' }, parameters: {}, summary: 'x' };
    const forged = record(JSON.stringify({ type: 'verify', incident, plan, actedAt: new Date().toISOString(), attempt: 1 }), 1, 'verify-bad-action');
    const headless = record(JSON.stringify({ type: 'verify', plan: { ...plan, action: 'evict-pod' }, actedAt: 'now', attempt: 1 }), 1, 'verify-no-incident');
    // Act (the cluster is unreachable: a read would fail the message for another reason, and be retried)
    const result = await handler({ Records: [forged, headless] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'verify-bad-action' }, { itemIdentifier: 'verify-no-incident' }]);
    expect(await env.inbox.receive(1, 1_500)).toHaveLength(0);
  });

  it('retries when the cluster is unreachable, without paging before the last delivery', async () => {
    // Prepare
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1' });
    // Act
    const result = await handler({ Records: [record(JSON.stringify(incident), 1, 'first')] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'first' }]);
    expect(await env.inbox.receive(1, 1_500)).toHaveLength(0);
  });

  it('pages for an incident about a kind it has no fix for (a StatefulSet), without reading the cluster', async () => {
    // Prepare: what KubeStatefulSetReplicasMismatch becomes at intake (the cluster is unreachable here).
    const incident = anIncident({
      id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3',
      symptom: 'StatefulSetUnavailable',
      subject: { kind: 'StatefulSet', name: 'checkout', namespace: 'shop' },
      alertname: 'KubeStatefulSetReplicasMismatch',
    });
    // Act
    const result = await handler({ Records: [record(JSON.stringify(incident), 1, 'deploy')] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const [page] = await env.inbox.receive(1, 10_000);
    expect(page?.attributes).toMatchObject({ outcome: 'paged', severity: 'critical' });
    expect(page?.subject).toContain('StatefulSetUnavailable');
    expect(page?.message).toContain('no automated handling for StatefulSet incidents');
  });

  it('pages on-call when the last delivery fails, and leaves the lock free for a redrive', async () => {
    // Prepare
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2' });
    // Act
    const result = await handler({ Records: [record(JSON.stringify(incident), 3, 'last')] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'last' }]);
    const [page] = await env.inbox.receive(1, 10_000);
    expect(page?.attributes).toMatchObject({ severity: 'critical', outcome: 'action-failed' });
    expect(page?.message).toContain('could not process');
    expect(page?.message).toContain(incident.id);
    // A redrive from the DLQ must be able to take the incident again.
    const again = await handler({ Records: [record(JSON.stringify(incident), 1, 'redrive')] }, localContext('remediate', 60_000));
    expect(again.batchItemFailures).toEqual([{ itemIdentifier: 'redrive' }]);
  });
});
