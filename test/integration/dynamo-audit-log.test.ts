/**
 * DynamoAuditLog against a real DynamoDB Local: append-only, complete and in time order.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog, MAX_DETAIL_BYTES } from '../../lib/adapters/dynamo-audit-log.js';
import type { AuditEntry } from '../../lib/domain/types.js';
import { createTables, dynamoDbLocalUnavailable, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { mustRun } from '../support/process.js';

const unavailable = dynamoDbLocalUnavailable();
const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

function entry(incidentId: string, step: AuditEntry['step'], offsetMs: number, detail: Record<string, unknown> = {}): AuditEntry {
  return { incidentId, at: at(offsetMs), cluster: 'local', step, detail };
}

describe.skipIf(unavailable !== undefined && !mustRun())('DynamoAuditLog on DynamoDB Local', () => {
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  let audit: DynamoAuditLog;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    console.info(`DynamoDB Local ready in ${dynamo.startMs} ms at ${dynamo.endpoint}`);
    client = dynamo.client();
    await createTables(client, tables);
    audit = new DynamoAuditLog({ tableName: tables.audit, client });
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('lists an incident’s entries in time order with their detail intact', async () => {
    // Prepare: appended out of order, as concurrent steps might.
    const id = `inc-${randomUUID()}`;
    const decision = { ...entry(id, 'decision', 3_000, { allowed: false, verdicts: [{ rule: 'kill-switch', reason: 'on' }] }), outcome: 'no-action' as const };
    const intake = entry(id, 'intake', 0, { source: 'alertmanager', labels: { a: 'b' }, empty: '', nested: { n: 1.5, list: [1, 'x', null] } });
    const diagnosis = entry(id, 'diagnosis', 2_000, { summary: 'résumé ✓ — 日本' });
    const evidence = entry(id, 'evidence', 1_000);

    // Act
    for (const e of [decision, intake, diagnosis, evidence]) await audit.append(e);
    const listed = await audit.listForIncident(id);

    // Assess
    expect(listed).toEqual([intake, evidence, diagnosis, decision]);
  });

  it('keeps write order for entries stamped in the same millisecond', async () => {
    // Prepare: steps whose names would sort differently than they were written.
    const id = `inc-${randomUUID()}`;
    const steps: AuditEntry['step'][] = ['outcome', 'intake', 'notification', 'action', 'evidence'];

    // Act
    for (const step of steps) await audit.append(entry(id, step, 0));
    const listed = await audit.listForIncident(id);

    // Assess
    expect(listed.map((e) => e.step)).toEqual(steps);
  });

  it('never overwrites: 50 concurrent identical appends leave 50 items', async () => {
    // Prepare
    const id = `inc-${randomUUID()}`;
    const same = entry(id, 'action', 0, { action: 'evict-pod' });

    // Act
    await Promise.all(Array.from({ length: 50 }, () => audit.append(same)));
    const listed = await audit.listForIncident(id);

    // Assess
    expect(listed).toHaveLength(50);
    expect(new Set(listed.map((e) => JSON.stringify(e)))).toEqual(new Set([JSON.stringify(same)]));
  });

  it('pages through an incident larger than one 1 MB query page, and keeps other incidents apart', async () => {
    // Prepare: 14 entries of ~100 KB each exceed DynamoDB's 1 MB page.
    const id = `inc-${randomUUID()}`;
    const other = `inc-${randomUUID()}`;
    const filler = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 14; i++) await audit.append(entry(id, 'evidence', i, { i, filler }));
    await audit.append(entry(other, 'intake', 0));
    const firstPage = await client.send(
      new QueryCommand({ TableName: tables.audit, KeyConditionExpression: 'incidentId = :id', ExpressionAttributeValues: marshall({ ':id': id }) }),
    );

    // Act
    const listed = await audit.listForIncident(id);

    // Assess: one raw page is not enough, the adapter still returns everything in order.
    expect(firstPage.LastEvaluatedKey).toBeDefined();
    expect(listed.map((e) => e.detail.i)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(listed.every((e) => e.incidentId === id)).toBe(true);
  });

  it('stores no secret: every string of a detail, keys and deep nesting included, is redacted once more', async () => {
    // Prepare: a detail as a step might write it without redacting (evidence, labels, a tool's answer)
    const id = `inc-${randomUUID()}`;
    let deep: Record<string, unknown> = { note: 'token=Zr7Yk2Wq9Lm4Tx8Vb3Nc' };
    for (let i = 0; i < 40; i++) deep = { level: deep };
    const secrets = ['Zr7Yk2Wq9Lm4Tx8Vb3Nc', 'q9X/3kLm+ZpR2', 'Rq8Lm3Zx', 'Nq7vR2kZ', 'hunter2hunter2', 'Wv3Tq8pLm2'];
    const leaky = entry(id, 'evidence', 0, {
      previousLogTail: 'FATAL: could not connect to postgres://app:q9X/3kLm+ZpR2@db:5432/app',
      env: [{ name: 'DB_HOST', value: 'orders-db' }, { name: 'DB_PASSWORD', value: 'Rq8Lm3Zx' }],
      container: { command: ['redis-cli'], args: ['-a', 'hunter2hunter2'] },
      args: ['--db-password', 'Nq7vR2kZ'],
      labels: { 'password=Wv3Tq8pLm2': 'x', app: 'web' },
      at: new Date(T0),
      deep,
    });

    // Act
    await audit.append(leaky);
    const raw = await client.send(new QueryCommand({ TableName: tables.audit, KeyConditionExpression: 'incidentId = :id', ExpressionAttributeValues: marshall({ ':id': id }) }));
    const [stored] = await audit.listForIncident(id);

    // Assess: nothing stored holds a secret; the rest of the detail is kept as it was
    const item = JSON.stringify(raw.Items);
    for (const secret of secrets) expect(item, `${secret} was stored`).not.toContain(secret);
    expect(stored?.detail).toMatchObject({
      env: [{ name: 'DB_HOST', value: 'orders-db' }, { name: 'DB_PASSWORD', value: '[REDACTED]' }],
      container: { command: ['redis-cli'], args: ['-a', '[REDACTED]'] },
      args: ['--db-password', '[REDACTED]'],
      labels: { 'password=[REDACTED]': 'x', app: 'web' },
      at: new Date(T0).toISOString(),
    });
  });

  it('keeps an entry whose detail exceeds the item size limit, with the detail cut and flagged', async () => {
    // Prepare
    const id = `inc-${randomUUID()}`;
    const huge = entry(id, 'evidence', 0, { log: 'y'.repeat(MAX_DETAIL_BYTES + 10_000) });

    // Act
    await audit.append(huge);
    const [stored] = await audit.listForIncident(id);

    // Assess
    expect(stored).toMatchObject({ incidentId: id, step: 'evidence', detail: { truncated: true } });
    expect(String(stored?.detail.partialJson).length).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
  });
});
