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
 *
 * Action counters are the exception: one action counts against several scopes (namespace and
 * cluster) and must pass all their limits or none, so recordAction is one TransactWriteItems with
 * a conditional `ADD` per scope. A cancelled condition is the clean "no"; a conflict is retried.
 * Counters live in fixed windows, one item per scope and window (`count#...`), so a new window is
 * simply a new item and an old one expires through TTL.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { StateStore } from '../ports/index.js';
import { dynamoDbClient } from './aws-clients.js';
import { stateKeys } from './tables.js';

export interface DynamoStateStoreOptions {
  readonly tableName: string;
  /** Defaults to the shared, lazily created client. */
  readonly client?: DynamoDBClient;
  /** Attempts of recordAction's transaction while other transactions conflict with it. */
  readonly maxTransactionAttempts?: number;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

const NOT_LIVE = 'attribute_not_exists(#pk) OR #until <= :now';

export class DynamoStateStore implements StateStore {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly maxTransactionAttempts: number;
  /** Claim tokens of locks this instance holds, so a release never deletes another worker's lock
   * (e.g. ours expired mid-run and someone else took it over). */
  private readonly heldTokens = new Map<string, string>();
  /** Tokens of dedup marks this instance wrote, for the same reason in forgetIncident. */
  private readonly recordTokens = new Map<string, string>();

  constructor(options: DynamoStateStoreOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
    this.maxTransactionAttempts = options.maxTransactionAttempts ?? 10;
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

  async claimState(incidentId: string, nowMs: number): Promise<'locked' | 'done' | 'free'> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: stateKeys.incident(incidentId) }),
        ConsistentRead: true,
        ProjectionExpression: '#state, #until',
        ExpressionAttributeNames: { '#state': 'state', '#until': 'untilMs' },
      }),
    );
    if (result.Item === undefined) return 'free';
    const { state, untilMs } = unmarshall(result.Item) as { state?: unknown; untilMs?: unknown };
    if (typeof untilMs !== 'number' || untilMs <= nowMs) return 'free';
    return state === 'done' ? 'done' : state === 'locked' ? 'locked' : 'free';
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
    return this.putIfNotLive({ pk: stateKeys.cooldown(key), token: randomUUID() }, nowMs + seconds * 1000, nowMs);
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

  async countActions(scopeKeys: readonly string[], windowSeconds: number, nowMs: number): Promise<Record<string, number>> {
    const start = windowStartMs(windowSeconds, nowMs);
    // A few scopes per action: parallel strongly consistent GetItems (no new IAM action needed).
    const entries = await Promise.all(
      [...new Set(scopeKeys)].map(async (scope): Promise<[string, number]> => {
        const result = await this.client.send(
          new GetItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: stateKeys.counter(scope, windowSeconds, start) }),
            ConsistentRead: true,
            ProjectionExpression: '#count',
            ExpressionAttributeNames: { '#count': 'count' },
          }),
        );
        if (result.Item === undefined) return [scope, 0];
        const { count } = unmarshall(result.Item) as { count?: unknown };
        // Only a missing item is zero; a malformed one is an error, so callers fail closed.
        if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new Error(`counter ${scope} holds no valid count`);
        return [scope, count];
      }),
    );
    return Object.fromEntries(entries);
  }

  async recordAction(scopeKeys: readonly string[], limits: Readonly<Record<string, number>>, windowSeconds: number, nowMs: number): Promise<boolean> {
    const scopes = [...new Set(scopeKeys)];
    if (scopes.length === 0) throw new RangeError('recordAction needs at least one scope');
    const scopeLimits = scopes.map((scope) => {
      const limit = Object.hasOwn(limits, scope) ? limits[scope] : undefined;
      if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`no valid limit for scope ${scope}`);
      return [scope, limit] as const;
    });
    // A zero limit admits nothing; the condition below would let the first ADD through.
    if (scopeLimits.some(([, limit]) => limit === 0)) return false;
    const start = windowStartMs(windowSeconds, nowMs);
    const untilMs = start + windowSeconds * 1000;
    const items: TransactWriteItem[] = scopeLimits.map(([scope, limit]) => ({
      Update: {
        TableName: this.tableName,
        Key: marshall({ pk: stateKeys.counter(scope, windowSeconds, start) }),
        UpdateExpression: 'ADD #count :one SET #until = :until, #exp = :exp, #scope = :scope',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count', '#until': 'untilMs', '#exp': 'expiresAt', '#scope': 'scope' },
        ExpressionAttributeValues: marshall({ ':one': 1, ':limit': limit, ':until': untilMs, ':exp': ttlSeconds(untilMs), ':scope': scope }),
      },
    }));
    for (let attempt = 1; ; attempt++) {
      try {
        // A fresh token per attempt: the SDK's own retries of this attempt then count only once.
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: randomUUID() }));
        return true;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes === undefined) throw error;
        if (codes.includes('ConditionalCheckFailed')) return false;
        // Another transaction held an item: no verdict yet, try again after a jittered pause.
        // Out of attempts it throws, so the caller does not act (fails closed) and may retry later.
        if (!codes.includes('TransactionConflict') || attempt >= this.maxTransactionAttempts) throw error;
        await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt));
      }
    }
  }

  /**
   * One conditional put: succeeds only when no live item holds the key, or the live item is this
   * very put. The SDK retries a request whose answer timed out; when the first try was applied
   * and only its answer was lost, the retry (same body, same token) must not lose to itself.
   */
  private async putIfNotLive(item: Record<string, string> & { token: string }, untilMs: number, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...item, untilMs, expiresAt: ttlSeconds(untilMs) }),
          ConditionExpression: `${NOT_LIVE} OR #token = :token`,
          ExpressionAttributeNames: { '#pk': 'pk', '#until': 'untilMs', '#token': 'token' },
          ExpressionAttributeValues: marshall({ ':now': nowMs, ':token': item.token }),
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The per-item reasons of a cancelled transaction, or undefined for any other error. */
function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? 'None');
}

/** Start of the fixed window holding nowMs; windows are aligned to the epoch, so every worker agrees. */
function windowStartMs(windowSeconds: number, nowMs: number): number {
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds <= 0) throw new RangeError(`invalid counter window ${windowSeconds}s`);
  const windowMs = windowSeconds * 1000;
  return Math.floor(nowMs / windowMs) * windowMs;
}

function ttlSeconds(untilMs: number): number {
  return Math.ceil(untilMs / 1000);
}
