/**
 * Every conditional write to DynamoDB holds when its answer is lost. The clients retry a request
 * whose answer timed out; when the first try was applied, the retry meets the write's own item.
 * It must count as the write it is (a claim won, an entry appended, a link consumed), while
 * another caller's write still loses. A proxy in front of the real DynamoDB Local drops the
 * first answer; nothing else is imitated.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, LAMBDA_CLIENT_DEFAULTS } from '../../lib/adapters/aws-clients.js';
import { DynamoActionRecords } from '../../lib/adapters/dynamo-action-records.js';
import { DynamoApprovalStore } from '../../lib/adapters/dynamo-approval-store.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { DynamoStateStore } from '../../lib/adapters/dynamo-state-store.js';
import type { ActionPlan } from '../../lib/actions/action.js';
import { anEvictDiagnosis, anIncident } from '../fixtures/builders.js';
import { createTables, dynamoDbLocalUnavailable, localAws, startDynamoDbLocal, ttlSafeNow, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { lostFirstAnswerProxy, type LostAnswerProxy } from '../support/lost-answer-proxy.js';
import { mustRun } from '../support/process.js';

const unavailable = dynamoDbLocalUnavailable();
const T0 = ttlSafeNow();
/** How long the client waits for an answer before it retries: long enough that a retried request's own answer comes in time. */
const ANSWER_TIMEOUT_MS = 2_000;

/** An eviction as remediate() plans it, for the records that name one. */
function anEviction() {
  const incident = anIncident({ id: randomBytes(16).toString('hex') });
  const plan: ActionPlan = { action: 'evict-pod', target: { kind: 'Pod', name: incident.subject.name, namespace: incident.subject.namespace, uid: 'u-1' }, parameters: {}, summary: 'evict the pod' };
  return { incident, plan };
}

describe.skipIf(unavailable !== undefined && !mustRun())('conditional writes whose answer is lost', () => {
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    client = dynamo.client();
    await createTables(client, tables);
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  /** A client through a proxy that loses the first answer(s); it gives up on an answer after ANSWER_TIMEOUT_MS and retries. */
  async function throughLostAnswer<T>(use: (client: DynamoDBClient) => Promise<T>, lose = 1): Promise<{ result: T; proxy: LostAnswerProxy }> {
    const proxy = await lostFirstAnswerProxy(dynamo.endpoint, lose);
    const lossy = createDynamoDbClient({ endpoint: proxy.endpoint, ...localAws(), requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler, requestTimeout: ANSWER_TIMEOUT_MS } });
    try {
      return { result: await use(lossy), proxy };
    } finally {
      lossy.destroy();
      await proxy.close();
    }
  }

  it.each([
    ['claimIncident', (store: DynamoStateStore, key: string) => store.claimIncident(key, 60, T0)],
    ['recordIfNew', (store: DynamoStateStore, key: string) => store.recordIfNew(key, 60, T0)],
    ['startCooldown', (store: DynamoStateStore, key: string) => store.startCooldown(key, 60, T0)],
  ] as const)('%s: the retry of an applied claim wins it, and another caller still loses', async (_name, claim) => {
    // Prepare
    const key = `lost-${randomUUID()}`;

    // Act
    const { result: won, proxy } = await throughLostAnswer((lossy) => claim(new DynamoStateStore({ tableName: tables.state, client: lossy }), key));
    const other = await claim(new DynamoStateStore({ tableName: tables.state, client }), key);

    // Assess: the proxy passed the write on at least twice (applied, then retried), and it counts as won.
    expect(proxy.forwarded()).toBeGreaterThanOrEqual(2);
    expect(won).toBe(true);
    expect(other).toBe(false);
  });

  it('an audit entry whose answer was lost is appended once, not refused as a conflict', async () => {
    // Prepare
    const incidentId = `lost-${randomUUID()}`;
    const entry = { incidentId, at: new Date(T0).toISOString(), cluster: 'local', step: 'intake' as const, detail: { source: 'alertmanager' } };

    // Act
    const { proxy } = await throughLostAnswer((lossy) => new DynamoAuditLog({ tableName: tables.audit, client: lossy }).append(entry));

    // Assess
    expect(proxy.forwarded()).toBeGreaterThanOrEqual(2);
    expect(await new DynamoAuditLog({ tableName: tables.audit, client }).listForIncident(incidentId)).toEqual([entry]);
  });

  it('an action record whose answer was lost is stored, and verification can read it', async () => {
    // Prepare
    const { incident, plan } = anEviction();
    const record = { actionId: randomBytes(16).toString('hex'), incident, plan, actedAt: new Date(T0).toISOString() };

    // Act
    const { proxy } = await throughLostAnswer((lossy) => new DynamoActionRecords({ tableName: tables.state, client: lossy }).put(record, 3600, T0));

    // Assess
    expect(proxy.forwarded()).toBeGreaterThanOrEqual(2);
    expect(await new DynamoActionRecords({ tableName: tables.state, client }).get(incident.id, record.actionId)).toEqual(record);
  });

  it('an approval link consumed once, its answer lost, is consumed by that click; a second click still loses', async () => {
    // Prepare: a pending approval, itself created through a lost answer.
    const { incident, plan } = anEviction();
    const id = randomBytes(16).toString('hex');
    const created = await throughLostAnswer((lossy) =>
      new DynamoApprovalStore({ tableName: tables.state, client: lossy }).create({ id, incident, diagnosis: anEvictDiagnosis(incident), plan, digest: 'd', requestedAtMs: T0, expiresAtMs: T0 + 3_600_000 }),
    );
    const store = new DynamoApprovalStore({ tableName: tables.state, client });

    // Act
    const clicked = await throughLostAnswer((lossy) => new DynamoApprovalStore({ tableName: tables.state, client: lossy }).consume(id, { by: 'alice' }, T0 + 1_000));
    const again = await store.consume(id, { by: 'alice' }, T0 + 1_000);

    // Assess
    expect(created.proxy.forwarded()).toBeGreaterThanOrEqual(2);
    expect(clicked.proxy.forwarded()).toBeGreaterThanOrEqual(2);
    expect(clicked.result).toBe(true);
    expect(again).toBe(false);
    expect(await store.get(id)).toMatchObject({ status: 'used', usedBy: { by: 'alice' }, usedAtMs: T0 + 1_000 });
  });

  it('an approval click whose every try lost its answer still counts when the link carries its id', async () => {
    // Prepare
    const { incident, plan } = anEviction();
    const id = randomBytes(16).toString('hex');
    const store = new DynamoApprovalStore({ tableName: tables.state, client });
    await store.create({ id, incident, diagnosis: anEvictDiagnosis(incident), plan, digest: 'd', requestedAtMs: T0, expiresAtMs: T0 + 3_600_000 });

    // Act: all the client's tries lose their answers; the read-back after them gets through.
    const clicked = await throughLostAnswer((lossy) => new DynamoApprovalStore({ tableName: tables.state, client: lossy }).consume(id, { by: 'bob' }, T0 + 1_000), LAMBDA_CLIENT_DEFAULTS.maxAttempts);
    const again = await store.consume(id, { by: 'bob' }, T0 + 1_000);

    // Assess
    expect(clicked.proxy.forwarded()).toBeGreaterThanOrEqual(LAMBDA_CLIENT_DEFAULTS.maxAttempts + 1);
    expect(clicked.result).toBe(true);
    expect(again).toBe(false);
  });
});
