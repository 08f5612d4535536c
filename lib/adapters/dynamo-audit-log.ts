/**
 * AuditLog on DynamoDB: every entry is a new item (conditional put, never an overwrite), so the
 * worker's role needs only dynamodb:PutItem and dynamodb:Query on the table. The audit is an exit
 * too: every string of an entry's detail (keys included, at any depth) passes through the
 * redaction step once more before it is stored, whatever the step that wrote it did.
 */
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AuditEntry } from '../domain/types.js';
import { redactDeep } from '../evidence/redact.js';
import type { AuditLog } from '../ports/index.js';
import { dynamoDbClient } from './aws-clients.js';
import { auditSortKey, incidentsDay } from './tables.js';
import { HEALER_VERSION } from '../version.js';
import { retrySafe, WRITE_ID } from './retry-safe-write.js';

export interface DynamoAuditLogOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
}

/** DynamoDB items stop at 400 KB; detail beyond this is cut so the entry itself is never lost. */
export const MAX_DETAIL_BYTES = 350 * 1024;

export class AuditAppendConflictError extends Error {
  constructor(readonly incidentId: string, readonly sk: string) {
    super(`audit entry ${incidentId} / ${sk} already exists; audit entries are never overwritten`);
    this.name = 'AuditAppendConflictError';
  }
}

export class DynamoAuditLog implements AuditLog {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;

  constructor(options: DynamoAuditLogOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
  }

  async append(entry: AuditEntry): Promise<void> {
    const item = auditItem(entry);
    const sk = item.sk;
    const { writeId, ...firstOnly } = retrySafe('attribute_not_exists(incidentId)');
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...item, [WRITE_ID]: writeId }, { removeUndefinedValues: true }),
          ...firstOnly,
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') {
        throw new AuditAppendConflictError(entry.incidentId, sk);
      }
      throw error;
    }
  }

  async listForIncident(incidentId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: marshall({ ':id': incidentId }),
          ConsistentRead: true,
          ScanIndexForward: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const raw of page.Items ?? []) entries.push(auditEntryFromItem(unmarshall(raw)));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return entries;
  }
}

/**
 * The item stored for an entry. detail as a JSON string: keeps its exact shape (no marshalling of
 * undefined, empty sets or class instances) and lets an oversized detail be cut without losing the
 * entry. It is redacted as plain JSON data (what JSON.stringify would store: dates as strings,
 * no functions), before the cut, so a cut cannot leave part of a secret unrecognised; nesting
 * deeper than redactDeep walks is redacted as JSON text. Pure.
 */
export function auditItem(entry: AuditEntry): {
  incidentId: string;
  sk: string;
  at: string;
  cluster: string;
  step: AuditEntry['step'];
  outcome: AuditEntry['outcome'];
  detail: string;
  detailTruncated: true | undefined;
  day: string | undefined;
  healerVersion: string;
} {
  const plain: unknown = JSON.parse(JSON.stringify(entry.detail ?? {}) ?? '{}');
  let detail = JSON.stringify(redactDeep(plain));
  let detailTruncated = false;
  if (Buffer.byteLength(detail, 'utf8') > MAX_DETAIL_BYTES) {
    detail = Buffer.from(detail, 'utf8').subarray(0, MAX_DETAIL_BYTES).toString('utf8');
    detailTruncated = true;
  }
  return {
    incidentId: entry.incidentId,
    sk: auditSortKey(entry.at, entry.step),
    at: entry.at,
    cluster: entry.cluster,
    step: entry.step,
    outcome: entry.outcome,
    detail,
    detailTruncated: detailTruncated || undefined,
    // Only the entries that list an incident go into the sparse incidents-by-day index.
    day: entry.step === 'intake' || entry.step === 'outcome' ? incidentsDay(entry.at) : undefined,
    healerVersion: HEALER_VERSION,
  };
}

/** An audit item as stored, read back as an entry (a cut detail is kept as its partial JSON). */
export function auditEntryFromItem(item: Record<string, unknown>): AuditEntry {
  const text = typeof item.detail === 'string' ? item.detail : '{}';
  let detail: Record<string, unknown>;
  if (item.detailTruncated === true) {
    detail = { truncated: true, partialJson: text };
  } else {
    try {
      const parsed: unknown = JSON.parse(text);
      detail = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
    } catch {
      detail = { unparseable: text };
    }
  }
  return {
    incidentId: String(item.incidentId),
    at: String(item.at),
    cluster: String(item.cluster),
    step: item.step as AuditEntry['step'],
    ...(typeof item.outcome === 'string' ? { outcome: item.outcome as AuditEntry['outcome'] } : {}),
    detail,
  };
}
