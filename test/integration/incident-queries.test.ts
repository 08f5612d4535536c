/**
 * Reading incidents back (the CLI and the incident view) from a real DynamoDB Local: recent
 * incidents come from the sparse incidents-by-day index, newest first, filtered, never by a scan.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { DynamoIncidentQueries } from '../../lib/adapters/dynamo-incident-queries.js';
import { AUDIT_TABLE } from '../../lib/adapters/tables.js';
import type { AuditEntry, Outcome } from '../../lib/domain/types.js';
import { createTables, dynamoDbLocalUnavailable, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { mustRun } from '../support/process.js';

const unavailable = dynamoDbLocalUnavailable();
const NOW = Date.parse('2026-12-05T12:00:00.000Z');
const HOUR = 3600_000;

describe.skipIf(unavailable !== undefined && !mustRun())('IncidentQueries on DynamoDB Local', () => {
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  let queries: DynamoIncidentQueries;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };

  /** One incident's trail as the pipeline writes it: intake, evidence, diagnosis, outcome. */
  async function incident(id: string, namespace: string, hoursAgo: number, outcome?: Outcome): Promise<void> {
    const audit = new DynamoAuditLog({ tableName: tables.audit, client });
    const at = (plusMs: number) => new Date(NOW - hoursAgo * HOUR + plusMs).toISOString();
    const entries: AuditEntry[] = [
      { incidentId: id, at: at(0), cluster: 'local', step: 'intake', detail: { source: 'scan', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace, name: `${id}-pod` } } },
      { incidentId: id, at: at(10), cluster: 'local', step: 'evidence', detail: { exists: true } },
      { incidentId: id, at: at(20), cluster: 'local', step: 'diagnosis', detail: { diagnoser: 'runbook' } },
    ];
    if (outcome) entries.push({ incidentId: id, at: at(30), cluster: 'local', step: 'outcome', outcome, detail: { outcome } });
    for (const e of entries) await audit.append(e);
  }

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    client = dynamo.client();
    await createTables(client, tables);
    queries = new DynamoIncidentQueries({ tableName: tables.audit, client });
    // Prepare: five incidents over three days, one still in progress, one 10 days old.
    await incident('a1', 'shop', 1, 'acted');
    await incident('a2', 'shop', 30, 'paged');
    await incident('a3', 'billing', 2, 'dry-run');
    await incident('a4', 'billing', 50);
    await incident('a5', 'shop', 240, 'acted');
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('lists the last 7 days newest first, each with its outcome, older ones left out', async () => {
    const found = await queries.recent({}, NOW);
    expect(found.map((s) => [s.id, s.namespace, s.subject, s.outcome ?? 'in progress'])).toEqual([
      ['a1', 'shop', 'Pod/a1-pod', 'acted'],
      ['a3', 'billing', 'Pod/a3-pod', 'dry-run'],
      ['a2', 'shop', 'Pod/a2-pod', 'paged'],
      ['a4', 'billing', 'Pod/a4-pod', 'in progress'],
    ]);
  });

  it.each([
    [{ namespace: 'shop' }, ['a1', 'a2']],
    [{ outcome: 'acted' }, ['a1']],
    [{ since: new Date(NOW - 3 * HOUR).toISOString() }, ['a1', 'a3']],
    [{ since: new Date(NOW - 300 * HOUR).toISOString(), namespace: 'shop' }, ['a1', 'a2', 'a5']],
    [{ limit: 2 }, ['a1', 'a3']],
  ])('filters by %j', async (filter, ids) => {
    expect((await queries.recent(filter, NOW)).map((s) => s.id)).toEqual(ids);
  });

  it('holds only intake and outcome entries in the index, so a listing reads little', async () => {
    const indexed = await client.send(new ScanCommand({ TableName: tables.audit, IndexName: AUDIT_TABLE.incidentsIndex }));
    const steps = (indexed.Items ?? []).map((i) => i.step?.S);
    expect(new Set(steps)).toEqual(new Set(['intake', 'outcome']));
    expect(steps).toHaveLength(5 + 4);
  });

  it('reads a timeline from the incident’s own partition, in order', async () => {
    expect((await queries.timeline('a1')).map((e) => e.step)).toEqual(['intake', 'evidence', 'diagnosis', 'outcome']);
    expect(await queries.timeline('nope')).toEqual([]);
  });

  it('refuses a since that is not a time', async () => {
    await expect(queries.recent({ since: 'yesterday' }, NOW)).rejects.toThrow('since is not a time: yesterday');
  });
});
