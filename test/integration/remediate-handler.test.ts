import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { freePort } from '../support/process.js';
import { localContext } from '../../lib/local/http-api.js';
import { randomBytes } from 'node:crypto';
import { anIncident, evidenceFor } from '../fixtures/builders.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { UNMATCHED_VERIFICATIONS } from '../../lib/pipeline/verify.js';
import { DynamoActionRecords } from '../../lib/adapters/dynamo-action-records.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { loadConfig } from '../../lib/config/config.js';
import { depsOnDemand, workerDeps } from '../../lib/wiring/worker.js';

/**
 * The remediate Lambda handler's failure paths, on DynamoDB Local and moto: a malformed message
 * goes back to SQS (and so to the DLQ), an unreachable cluster is retried, and every message that
 * reaches the DLQ pages on-call through the dead-letter consumer, with the worker's last error.
 * The "unreachable cluster" is a real kubeconfig pointing at a port nobody listens on.
 */
let env: HealerEnv;
type SqsHandler = (event: SQSEvent, context: ReturnType<typeof localContext>) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: SqsHandler;
let deadLetters: SqsHandler;

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
  ({ handler: deadLetters } = await import('../../functions/dead-letter.js'));
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

  it('refuses a verification message that carries its own plan (to the DLQ), without touching the cluster', async () => {
    // Prepare: the old, trusting shape: a plan inline that would scale kube-system/coredns to 0.
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4' });
    const plan = { action: 'scale-deployment', target: { kind: 'Deployment', name: 'coredns', namespace: 'kube-system', uid: 'u' }, parameters: { replicas: 5 }, fromReplicas: 0, summary: 'x' };
    const inline = record(JSON.stringify({ type: 'verify', incident, plan, actedAt: new Date().toISOString(), attempt: 1 }), 1, 'verify-inline-plan');
    const extra = record(JSON.stringify({ type: 'verify', incidentId: incident.id, actionId: 'a'.repeat(32), attempt: 1, plan }), 1, 'verify-extra-field');
    // Act (the cluster is unreachable: a read would fail the message for another reason, and be retried)
    const result = await handler({ Records: [inline, extra] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'verify-inline-plan' }, { itemIdentifier: 'verify-extra-field' }]);
    expect(await env.inbox.receive(1, 1_500)).toHaveLength(0);
  });

  it('answers forged verification messages naming no action of the healer with audit entries and one page, nothing read', async () => {
    // Prepare: well-formed ids, but no action was ever recorded under them; a second one right after.
    const forged = (n: number) => record(JSON.stringify({ type: 'verify', incidentId: `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5${n}`, actionId: randomBytes(16).toString('hex'), attempt: 1 }), 1, `verify-forged-${n}`);
    // Act
    const result = await handler({ Records: [forged(1), forged(2)] }, localContext('remediate', 60_000));
    // Assess: consumed (no retry loop), no cluster read (it would have failed), each audited, one
    // page under the unmatched key (never the sender's incident id): a flood is not a page storm.
    expect(result.batchItemFailures).toEqual([]);
    const audit = new DynamoAuditLog({ tableName: env.tables.audit });
    const entries = (await audit.listForIncident(UNMATCHED_VERIFICATIONS)).filter((e) => String(e.detail['incidentId']).startsWith('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5'));
    expect(entries.map((e) => e.detail['refused'])).toEqual(['no action of the healer has these ids', 'no action of the healer has these ids']);
    expect(entries.map((e) => e.detail['paged']).sort()).toEqual([false, true]);
    const [page, ...more] = await env.inbox.receive(2, 2_000);
    expect(more).toHaveLength(0);
    expect(page?.subject).toBe('[k8s-healer] Verification for no known action');
    expect(page?.message).toMatch(/names no action of the healer: no action of the healer has these ids/);
    expect(page?.attributes).toMatchObject({ severity: 'warning', outcome: 'paged' });
    expect(page?.page?.pagerduty).toMatchObject({ dedup_key: UNMATCHED_VERIFICATIONS });
  });

  it('pages that an action on a cluster no longer in the registry cannot be verified, nothing read', async () => {
    // Prepare: an action the healer recorded on a cluster since removed from HEALER_CLUSTERS.
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6', cluster: 'retired' });
    const actionId = randomBytes(16).toString('hex');
    const plan: ActionPlan = { action: 'rollout-restart', target: { kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'u-7' }, resourceVersion: '7', parameters: {}, summary: 'rolling restart of Deployment shop/web' };
    await new DynamoActionRecords({ tableName: env.tables.state }).put({ actionId, incident, plan, actedAt: new Date().toISOString() }, 3600, Date.now());
    const check = record(JSON.stringify({ type: 'verify', incidentId: incident.id, actionId, attempt: 1 }), 1, 'verify-retired');
    // Act
    const result = await handler({ Records: [check] }, localContext('remediate', 60_000));
    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const [page] = await env.inbox.receive(1, 2_000);
    expect(page?.subject).toBe('[k8s-healer] Not verified: rolling restart of Deployment shop/web');
    expect(page?.message).toMatch(/cannot be verified: the action's cluster retired is not in the registry/);
    expect(page?.attributes).toMatchObject({ severity: 'warning', outcome: 'paged', action: 'rollout-restart', cluster: 'retired' });
    expect(page?.page?.pagerduty).toMatchObject({ dedup_key: incident.id });
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

  it('retries an incident about a kind it has no fix for while it cannot read where the subject sits', async () => {
    // Prepare: what KubeStatefulSetReplicasMismatch becomes at intake (the cluster is unreachable here).
    const incident = anIncident({
      id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3',
      symptom: 'StatefulSetUnavailable',
      subject: { kind: 'StatefulSet', name: 'checkout', namespace: 'shop' },
      alertname: 'KubeStatefulSetReplicasMismatch',
    });
    // Act
    const result = await handler({ Records: [record(JSON.stringify(incident), 1, 'sts')] }, localContext('remediate', 60_000));
    // Assess: whether the place opted out is unknown, so nothing is sent out yet; SQS redelivers.
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'sts' }]);
    expect(await env.inbox.receive(1, 1_500)).toHaveLength(0);
  });

  it('pages on-call for every dead letter, with the incident id and the worker\'s last error; the lock stays free for a redrive', async () => {
    // Prepare
    const incident = anIncident({ id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2' });
    const last = record(JSON.stringify(incident), 3, 'last');
    // Act: the last delivery fails, SQS would move it to the DLQ, and the DLQ consumer gets it.
    const result = await handler({ Records: [last] }, localContext('remediate', 60_000));
    const consumed = await deadLetters({ Records: [last] }, localContext('dead-letter', 30_000));
    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'last' }]);
    expect(consumed.batchItemFailures).toEqual([]);
    const page = (await env.inbox.receive(5, 5_000)).find((p) => p.message.includes(incident.id));
    expect(page?.attributes).toMatchObject({ severity: 'critical', outcome: 'action-failed' });
    expect(page?.message).toContain('dead-letter queue');
    expect(page?.message).toContain(incident.id);
    expect(page?.message).toMatch(/Last error: .*(ECONNREFUSED|fetch failed|connect)/i);
    // A redrive from the DLQ must be able to take the incident again.
    const again = await handler({ Records: [record(JSON.stringify(incident), 1, 'redrive')] }, localContext('remediate', 60_000));
    expect(again.batchItemFailures).toEqual([{ itemIdentifier: 'redrive' }]);
  });

  it('pages for a dead letter it cannot even read, showing the body only redacted and bounded', async () => {
    // Prepare
    const garbage = record(`not json password=hunter2hunter2 ${'x'.repeat(5_000)}`, 3, 'garbage');
    // Act
    const consumed = await deadLetters({ Records: [garbage] }, localContext('dead-letter', 30_000));
    // Assess
    expect(consumed.batchItemFailures).toEqual([]);
    const page = (await env.inbox.receive(5, 5_000)).find((p) => p.message.includes('Message garbage'));
    expect(page?.subject).toContain('unreadable message');
    expect(page?.message).toContain('garbage');
    expect(page?.message).not.toContain('hunter2hunter2');
    expect(page!.message.length).toBeLessThan(2_000);
  });

  it('works without the optional model key: a missing parameter means runbook diagnosis, rebuilt on the next call', async () => {
    // Prepare: the key's parameter is named but does not exist in SSM (moto); an approval key too short.
    const config = loadConfig({ ...process.env, HEALER_ANTHROPIC_KEY_PARAM: '/healer/missing-model-key', HEALER_APPROVAL_KEY: 'short', HEALER_APPROVAL_URL: 'https://example.invalid/approve' });
    let builds = 0;
    const deps = depsOnDemand(async () => {
      builds += 1;
      return workerDeps(config);
    });
    // Act
    const first = await deps();
    const second = await deps();
    const diagnosis = await first.diagnoser.diagnose(anIncident(), evidenceFor(anIncident()));
    // Assess
    expect(first.degraded.join('; ')).toMatch(/model key unreadable/);
    expect(first.degraded.join('; ')).toMatch(/approval key shorter than 32 bytes/);
    expect(first.approvals).toBeUndefined();
    expect(diagnosis.diagnoser).toBe('runbook');
    expect(second).not.toBe(first);
    expect(builds).toBe(2);
  });
});
