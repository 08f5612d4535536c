/**
 * ModelBudget on the state table: one counter item per UTC day (`modelspend#<YYYY-MM-DD>`), grown
 * with an atomic `ADD`, so concurrent workers never lose each other's spend and no read-modify-
 * write race exists. USD is counted in integer micro-dollars (an ADD of many small decimals stays
 * exact and comparable). The item expires through the table's TTL a few days after its day, like
 * every other state item; a day's counter is only ever read on that day.
 */
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ModelBudget, ModelBudgetLimits, ModelBudgetState, ModelSpend } from '../ports/model-budget.js';
import { dynamoDbClient } from './aws-clients.js';

const DAY_MS = 86_400_000;
const MICROS_PER_USD = 1_000_000;

/** The key of a day's counter; its prefix is its own, so it never meets the other state items. */
export const modelSpendKey = (day: string): string => `modelspend#${day}`;

/** The UTC calendar day of an instant, YYYY-MM-DD. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export interface DynamoModelBudgetOptions {
  readonly tableName: string;
  readonly limits: ModelBudgetLimits;
  /** Defaults to the shared, lazily created client. */
  readonly client?: DynamoDBClient;
  /** Days the counter is kept after its own day ends, before TTL may remove it (for audit and debugging). */
  readonly keepDays?: number;
}

function nonNegativeInteger(value: unknown, what: string): number {
  if (value === undefined) return 0;
  // A malformed counter is an error, never zero: the caller then falls back to the runbook.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`model budget counter holds no valid ${what}`);
  return value;
}

export class DynamoModelBudget implements ModelBudget {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly limits: ModelBudgetLimits;
  private readonly keepDays: number;

  constructor(options: DynamoModelBudgetOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
    this.limits = options.limits;
    this.keepDays = options.keepDays ?? 3;
  }

  async today(nowMs: number): Promise<ModelBudgetState> {
    const day = utcDay(nowMs);
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: modelSpendKey(day) }),
        ConsistentRead: true,
        ProjectionExpression: '#usd, #tokens, #n',
        ExpressionAttributeNames: { '#usd': 'usdMicros', '#tokens': 'tokens', '#n': 'diagnoses' },
      }),
    );
    const item = result.Item === undefined ? {} : (unmarshall(result.Item) as Record<string, unknown>);
    return {
      day,
      spentUsd: nonNegativeInteger(item['usdMicros'], 'USD amount') / MICROS_PER_USD,
      spentTokens: nonNegativeInteger(item['tokens'], 'token count'),
      diagnoses: nonNegativeInteger(item['diagnoses'], 'diagnosis count'),
      limits: this.limits,
    };
  }

  async record(spend: ModelSpend, nowMs: number): Promise<void> {
    if (!Number.isFinite(spend.usd) || spend.usd < 0 || !Number.isSafeInteger(spend.tokens) || spend.tokens < 0) {
      throw new RangeError(`invalid model spend ${JSON.stringify(spend)}`);
    }
    const day = utcDay(nowMs);
    const dayEndMs = (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
    const expiresMs = dayEndMs + this.keepDays * DAY_MS;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: modelSpendKey(day) }),
        // untilMs and expiresAt as every state item has them; SET is idempotent, ADD accumulates.
        UpdateExpression: 'ADD #usd :usd, #tokens :tokens, #n :one SET #until = :until, #exp = :exp',
        ExpressionAttributeNames: { '#usd': 'usdMicros', '#tokens': 'tokens', '#n': 'diagnoses', '#until': 'untilMs', '#exp': 'expiresAt' },
        ExpressionAttributeValues: marshall({
          // Rounded up (after trimming float noise such as 3000.0000000000005): a fraction of a
          // micro-dollar too much, never too little.
          ':usd': Math.ceil(Math.round(spend.usd * MICROS_PER_USD * 1000) / 1000),
          ':tokens': spend.tokens,
          ':one': 1,
          ':until': expiresMs,
          ':exp': Math.ceil(expiresMs / 1000),
        }),
      }),
    );
  }
}
