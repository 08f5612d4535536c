/**
 * IncidentQueries on the audit table: recent incidents from the sparse `incidents-by-day` index
 * (one Query per UTC day, newest first, stopping at the limit), a timeline from the incident's own
 * partition. Never a table scan. Needs dynamodb:Query on the table and its index.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AuditEntry } from '../domain/types.js';
import type { IncidentQueries } from '../ports/incidents.js';
import { filterSummaries, summarize, type IncidentFilter, type IncidentSummary } from '../view/incident-summary.js';
import { DynamoAuditLog, auditEntryFromItem } from './dynamo-audit-log.js';
import { AUDIT_TABLE, incidentsDay } from './tables.js';

const DAY_MS = 24 * 3600 * 1000;
/** The widest window one request reads: a bound on the Queries a single listing can make. */
export const MAX_DAYS = 92;
export const DEFAULT_DAYS = 7;

export class DynamoIncidentQueries implements IncidentQueries {
  private readonly audit: DynamoAuditLog;

  constructor(private readonly o: { tableName: string; client: DynamoDBClient }) {
    this.audit = new DynamoAuditLog(o);
  }

  timeline(incidentId: string): Promise<AuditEntry[]> {
    return this.audit.listForIncident(incidentId);
  }

  async recent(filter: IncidentFilter, nowMs: number): Promise<IncidentSummary[]> {
    const limit = filter.limit ?? 100;
    const sinceMs = filter.since ? Date.parse(filter.since) : nowMs - DEFAULT_DAYS * DAY_MS;
    if (Number.isNaN(sinceMs)) throw new Error(`since is not a time: ${filter.since ?? ''}`);
    const fromMs = Math.max(sinceMs, nowMs - MAX_DAYS * DAY_MS);
    const startOfDay = (ms: number) => ms - (ms % DAY_MS);
    // Outcome entries come after their intake; reading newest first, keep the latest per incident.
    const outcomes = new Map<string, AuditEntry>();
    const found: IncidentSummary[] = [];
    for (let dayMs = startOfDay(nowMs); dayMs >= startOfDay(fromMs) && found.length < limit; dayMs -= DAY_MS) {
      for await (const entry of this.day(incidentsDay(dayMs))) {
        if (entry.step === 'outcome') {
          if (!outcomes.has(entry.incidentId)) outcomes.set(entry.incidentId, entry);
          continue;
        }
        const outcome = outcomes.get(entry.incidentId);
        const summary = summarize(outcome ? [entry, outcome] : [entry]);
        if (summary && filterSummaries([summary], { ...filter, since: new Date(fromMs).toISOString(), limit: 1 }).length === 1) found.push(summary);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  private async *day(day: string): AsyncGenerator<AuditEntry> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.o.client.send(new QueryCommand({
        TableName: this.o.tableName,
        IndexName: AUDIT_TABLE.incidentsIndex,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': AUDIT_TABLE.incidentsIndexKey },
        ExpressionAttributeValues: marshall({ ':day': day }),
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      }));
      for (const raw of page.Items ?? []) yield auditEntryFromItem(unmarshall(raw));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}
