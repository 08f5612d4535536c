/**
 * StateStore on one DynamoDB table, written only with conditional PutItem/DeleteItem: whoever's
 * condition holds wins, everyone else gets ConditionalCheckFailed -> false. No read-then-write.
 *
 * Every item carries `untilMs` (exact expiry, epoch ms) and `expiresAt` (the same, epoch seconds,
 * for TTL). TTL deletion lags by up to days, so conditions treat `untilMs <= now` as absent.
 *
 * Lock and done marker share ONE item (`incident#<id>`, attribute `state` = locked | done) instead
 * of two items and a TransactWriteItems: a claim is then a single conditional put ("absent or
 * expired", whatever the state), a live done marker blocks a claim by construction, and a release
 * can be conditioned on `state = locked` so it never erases a done marker. Transactions would also
 * cost double and report contention as TransactionCanceled/TransactionConflict, not a clean "no".
 */
import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { StateStore } from '../ports/index.js';
import { dynamoDbClient } from './aws-clients.js';
import { stateKeys } from './tables.js';

export interface DynamoStateStoreOptions {
  readonly tableName: string;
  /** Defaults to the shared, lazily created client. */
  readonly client?: DynamoDBClient;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

const NOT_LIVE = 'attribute_not_exists(#pk) OR #until <= :now';

export class DynamoStateStore implements StateStore {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  /** Claim tokens of locks this instance holds, so a release never deletes another worker's lock
   * (e.g. ours expired mid-run and someone else took it over). */
  private readonly heldTokens = new Map<string, string>();
  /** Tokens of dedup marks this instance wrote, for the same reason in forgetIncident. */
  private readonly recordTokens = new Map<string, string>();

  constructor(options: DynamoStateStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
  }

  async recordIfNew(incidentId: string, windowSeconds: number, nowMs: number): Promise<boolean> {
    const token = randomUUID();
    const recorded = await this.putIfNotLive({ pk: stateKeys.dedup(incidentId), token }, nowMs + windowSeconds * 1000, nowMs);
    if (recorded) remember(this.recordTokens, incidentId, token);
    return recorded;
  }

  async forgetIncident(incidentId: string): Promise<void> {
    const token = this.recordTokens.get(incidentId);
    this.recordTokens.delete(incidentId);
    try {
      // With our token, only our own mark goes (a newer caller's mark stays); without it, delete.
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: stateKeys.dedup(incidentId) }),
          ...(token === undefined
            ? {}
            : {
                ConditionExpression: '#token = :token',
                ExpressionAttributeNames: { '#token': 'token' },
                ExpressionAttributeValues: marshall({ ':token': token }),
              }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async claimIncident(incidentId: string, leaseSeconds: number, nowMs: number): Promise<boolean> {
    const token = randomUUID();
    const taken = await this.putIfNotLive(
      { pk: stateKeys.incident(incidentId), state: 'locked', token },
      nowMs + leaseSeconds * 1000,
      nowMs,
    );
    if (taken) remember(this.heldTokens, incidentId, token);
    return taken;
  }

  async completeIncident(incidentId: string, keepSeconds: number, nowMs: number): Promise<void> {
    // Unconditional: "done" is the safe direction (redeliveries become no-ops), and it replaces
    // the lock in the same write, so there is no moment with neither.
    const untilMs = nowMs + keepSeconds * 1000;
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ pk: stateKeys.incident(incidentId), state: 'done', untilMs, expiresAt: ttlSeconds(untilMs) }),
      }),
    );
    this.heldTokens.delete(incidentId);
  }

  async releaseIncident(incidentId: string): Promise<void> {
    const token = this.heldTokens.get(incidentId);
    // Without a token (claimed by another instance of this class) the best we can do is
    // "only if it is still a lock", which at least never erases a done marker.
    const condition = token === undefined ? '#state = :locked' : '#state = :locked AND #token = :token';
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: stateKeys.incident(incidentId) }),
          ConditionExpression: condition,
          ExpressionAttributeNames: token === undefined ? { '#state': 'state' } : { '#state': 'state', '#token': 'token' },
          ExpressionAttributeValues: marshall(token === undefined ? { ':locked': 'locked' } : { ':locked': 'locked', ':token': token }),
        }),
      );
    } catch (error) {
      // Already released, completed, or taken over: nothing of ours to release.
      if (!isConditionalCheckFailed(error)) throw error;
    } finally {
      this.heldTokens.delete(incidentId);
    }
  }

  async cooldownUntil(key: string, nowMs: number): Promise<number | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: stateKeys.cooldown(key) }),
        ConsistentRead: true,
        ProjectionExpression: '#until',
        ExpressionAttributeNames: { '#until': 'untilMs' },
      }),
    );
    if (result.Item === undefined) return undefined;
    const { untilMs } = unmarshall(result.Item) as { untilMs?: unknown };
    return typeof untilMs === 'number' && untilMs > nowMs ? untilMs : undefined;
  }

  startCooldown(key: string, seconds: number, nowMs: number): Promise<boolean> {
    return this.putIfNotLive({ pk: stateKeys.cooldown(key) }, nowMs + seconds * 1000, nowMs);
  }

  async claimOwner(ownerKey: string, incidentId: string, windowSeconds: number, nowMs: number): Promise<{ claimed: boolean; holder: string }> {
    const untilMs = nowMs + windowSeconds * 1000;
    try {
      // The same incident may claim again (an SQS redelivery), anyone may take an expired claim.
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: stateKeys.owner(ownerKey), holder: incidentId, untilMs, expiresAt: ttlSeconds(untilMs) }),
          ConditionExpression: `${NOT_LIVE} OR #holder = :me`,
          ExpressionAttributeNames: { '#pk': 'pk', '#until': 'untilMs', '#holder': 'holder' },
          ExpressionAttributeValues: marshall({ ':now': nowMs, ':me': incidentId }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, holder: incidentId };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      const holder = old ? (unmarshall(old) as { holder?: unknown }).holder : undefined;
      return { claimed: false, holder: typeof holder === 'string' ? holder : 'unknown' };
    }
  }

  /** One conditional put: succeeds only when no live item holds the key. */
  private async putIfNotLive(item: Record<string, string>, untilMs: number, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...item, untilMs, expiresAt: ttlSeconds(untilMs) }),
          ConditionExpression: NOT_LIVE,
          ExpressionAttributeNames: { '#pk': 'pk', '#until': 'untilMs' },
          ExpressionAttributeValues: marshall({ ':now': nowMs }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

/** Token maps live as long as a warm container: keep them bounded, dropping the oldest. */
const MAX_REMEMBERED_TOKENS = 10_000;

function remember(tokens: Map<string, string>, incidentId: string, token: string): void {
  tokens.delete(incidentId);
  tokens.set(incidentId, token);
  if (tokens.size > MAX_REMEMBERED_TOKENS) {
    const oldest = tokens.keys().next();
    if (oldest.done !== true) tokens.delete(oldest.value);
  }
}

function ttlSeconds(untilMs: number): number {
  return Math.ceil(untilMs / 1000);
}
