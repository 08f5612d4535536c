/**
 * The two DynamoDB tables as data, so serverless.yml (CloudFormation), the test harness and the
 * adapters agree on one key schema. The property names are the ones CreateTable and
 * AWS::DynamoDB::Table share.
 */
import { randomBytes } from 'node:crypto';

/** State table: dedup, incident lock/done, cooldowns, action counters. Items expire through TTL on `expiresAt`. */
export const STATE_TABLE = Object.freeze({
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB deletes the item some time after it (up to days), so reads and
   * conditions compare `untilMs` themselves and treat an expired item as absent. */
  ttlAttribute: 'expiresAt',
  /** Exact expiry in epoch ms, used by every condition and read. */
  untilAttribute: 'untilMs',
  AttributeDefinitions: Object.freeze([Object.freeze({ AttributeName: 'pk', AttributeType: 'S' as const })]),
  KeySchema: Object.freeze([Object.freeze({ AttributeName: 'pk', KeyType: 'HASH' as const })]),
  BillingMode: 'PAY_PER_REQUEST' as const,
  TimeToLiveSpecification: Object.freeze({ AttributeName: 'expiresAt', Enabled: true }),
});

/**
 * Audit table: append-only, one partition per incident, sorted by time. The sparse index
 * `incidents-by-day` holds only each incident's intake and outcome entries, partitioned by UTC day
 * (`day#2026-12-05`) and sorted by the same time key, so "recent incidents" is a Query per day,
 * never a scan of the table.
 */
export const AUDIT_TABLE = Object.freeze({
  partitionKey: 'incidentId',
  sortKey: 'sk',
  incidentsIndex: 'incidents-by-day',
  incidentsIndexKey: 'day',
  AttributeDefinitions: Object.freeze([
    Object.freeze({ AttributeName: 'incidentId', AttributeType: 'S' as const }),
    Object.freeze({ AttributeName: 'sk', AttributeType: 'S' as const }),
    Object.freeze({ AttributeName: 'day', AttributeType: 'S' as const }),
  ]),
  KeySchema: Object.freeze([
    Object.freeze({ AttributeName: 'incidentId', KeyType: 'HASH' as const }),
    Object.freeze({ AttributeName: 'sk', KeyType: 'RANGE' as const }),
  ]),
  GlobalSecondaryIndexes: Object.freeze([
    Object.freeze({
      IndexName: 'incidents-by-day',
      KeySchema: Object.freeze([
        Object.freeze({ AttributeName: 'day', KeyType: 'HASH' as const }),
        Object.freeze({ AttributeName: 'sk', KeyType: 'RANGE' as const }),
      ]),
      Projection: Object.freeze({ ProjectionType: 'ALL' as const }),
    }),
  ]),
  BillingMode: 'PAY_PER_REQUEST' as const,
});

/** The index partition of an intake or outcome entry written at `at`: `day#YYYY-MM-DD` (UTC). */
export const incidentsDay = (at: string | number): string => `day#${new Date(at).toISOString().slice(0, 10)}`;

/** State item keys; one prefix per kind of record so they never collide. */
export const stateKeys = Object.freeze({
  dedup: (incidentId: string) => `dedup#${incidentId}`,
  incident: (incidentId: string) => `incident#${incidentId}`,
  cooldown: (key: string) => `cooldown#${key}`,
  owner: (key: string) => `owner#${key}`,
  /** A pending or used approval request (lib/approval). */
  approval: (id: string) => `approval#${id}`,
  /** What the healer did for an incident (plan, target, counts), for verification and revert. */
  acted: (incidentId: string, actionId: string) => `acted#${actionId}#${incidentId}`,
  /** One fixed window of one scope's action counter; the numeric fields come first, so the
   * scope may contain `#` without two keys ever colliding. */
  counter: (scope: string, windowSeconds: number, windowStartMs: number) => `count#${windowSeconds}#${windowStartMs}#${scope}`,
});

// Process-local sequence: entries written in the same millisecond by one worker keep their order.
let auditSequence = 0;

/**
 * `<ISO time>#<seq>#<step>#<random>`: sorts by time, then by write order within one process;
 * the random suffix keeps two writers from ever producing the same key.
 */
export function auditSortKey(at: string, step: string): string {
  const parsed = Date.parse(at);
  // toISOString has a fixed width, so lexical order is time order; an unparseable `at` still sorts.
  const time = Number.isNaN(parsed) ? at : new Date(parsed).toISOString();
  auditSequence = (auditSequence + 1) % 1e8;
  return `${time}#${String(auditSequence).padStart(8, '0')}#${step}#${randomBytes(6).toString('hex')}`;
}
