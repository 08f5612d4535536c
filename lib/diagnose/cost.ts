import * as z from '../util/schema.js';
import { onFirstUse } from '../util/schema.js';
import type { Diagnosis } from '../domain/types.js';

/**
 * What a diagnosis costs: list prices per model and the arithmetic. Pure. A model without a price
 * on file gets no cost at all (undefined), never 0: a silent $0 would hide spend from the daily
 * budget and from anyone reading the audit trail.
 */

/** USD per million tokens. cacheWrite is the 5-minute TTL rate (the only TTL the diagnoser uses). */
export interface ModelPrice {
  readonly input: number;
  readonly cacheWrite: number;
  readonly cacheRead: number;
  readonly output: number;
}

export type ModelPrices = Readonly<Record<string, ModelPrice>>;

/**
 * List prices, USD/MTok, as published on platform.claude.com (the pricing page
 * docs/en/about-claude/pricing and each model's overview page, docs/en/models/<model>/overview),
 * looked up for this table in the stored copies of those pages:
 * - Sonnet 5.5 and Sonnet 5: input $2, 5m cache write $2.50, cache read $0.20, output $10.
 *   Third-party price trackers report a Sonnet 5.5 cache-read cut to $0.10 from 2026-10-07 that
 *   the official pages we could read do not show yet: $0.20 is kept, an overestimate at worst.
 * - Opus 5.5: $4, $5, $0.20, $20. Opus 5: $5, $6.25, $0.50, $25.
 * - Fable 5.1 and Mythos 5.1: $10, $12.50, $0.25, $50.
 * - Haiku 5.5: $0.10, $0.125, $0.01, $0.50 for prompts up to 100,000 tokens (longer prompts cost
 *   5x; a diagnosis prompt is a few thousand tokens and the loop's input budget keeps each
 *   request far below that). The cache-read rate is from third-party trackers.
 * - Haiku 4.5: $1, $1.25, $0.10, $5.
 * Prices change: HEALER_MODEL_PRICES overrides or adds entries without a deploy of new code.
 */
export const DEFAULT_MODEL_PRICES: ModelPrices = Object.freeze({
  'claude-fable-5-1': { input: 10, cacheWrite: 12.5, cacheRead: 0.25, output: 50 },
  'claude-mythos-5-1': { input: 10, cacheWrite: 12.5, cacheRead: 0.25, output: 50 },
  'claude-opus-5-5': { input: 4, cacheWrite: 5, cacheRead: 0.2, output: 20 },
  'claude-opus-5': { input: 5, cacheWrite: 6.25, cacheRead: 0.5, output: 25 },
  'claude-sonnet-5-5': { input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 },
  'claude-sonnet-5': { input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 },
  'claude-haiku-5-5': { input: 0.1, cacheWrite: 0.125, cacheRead: 0.01, output: 0.5 },
  'claude-haiku-4-5': { input: 1, cacheWrite: 1.25, cacheRead: 0.1, output: 5 },
});

type Usage = NonNullable<Diagnosis['usage']>;
type TokenCounts = Pick<Usage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>;

/**
 * The price of a model id: the exact name, or the name with a date snapshot suffix
 * (claude-haiku-4-5-20251001, claude-sonnet-4-5@20250929). Nothing looser: claude-sonnet-5-7 is
 * not claude-sonnet-5, and guessing a price would be worse than saying there is none.
 */
export function priceOf(model: string, prices: ModelPrices = DEFAULT_MODEL_PRICES): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  const snapshot = /^(.*?)(?:-\d{8}|@\d{8})$/.exec(model)?.[1];
  return snapshot !== undefined && Object.hasOwn(prices, snapshot) ? prices[snapshot] : undefined;
}

/** USD for these token counts at this price. */
export function costAt(usage: TokenCounts, price: ModelPrice): number {
  return (
    usage.inputTokens * price.input +
    (usage.cacheWriteTokens ?? 0) * price.cacheWrite +
    (usage.cacheReadTokens ?? 0) * price.cacheRead +
    usage.outputTokens * price.output
  ) / 1_000_000;
}

/** USD for a model's usage, or undefined when there is no usage or no price on file. */
export function costOf(usage: TokenCounts | undefined, model: string, prices: ModelPrices = DEFAULT_MODEL_PRICES): number | undefined {
  const price = priceOf(model, prices);
  return usage && price ? costAt(usage, price) : undefined;
}

/** Every token the model read or wrote, cached or not: what a token budget counts. */
export function totalTokens(usage: TokenCounts | undefined): number {
  if (!usage) return 0;
  return usage.inputTokens + usage.outputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
}

/** Built on first use: only a stack with HEALER_MODEL_PRICES parses prices. */
const pricesSchema = onFirstUse(() => {
  const usdPerMTok = () => z.number().check(z.gte(0), z.lte(10_000));
  const price = z.strictObject({ input: usdPerMTok(), cacheWrite: usdPerMTok(), cacheRead: usdPerMTok(), output: usdPerMTok() });
  return z.record(z.string().check(z.minLength(1), z.maxLength(200)), price);
});

/**
 * HEALER_MODEL_PRICES: JSON `{"<model id>": {"input":2,"cacheWrite":2.5,"cacheRead":0.2,"output":10}}`
 * in USD/MTok, merged over the defaults (an entry replaces the default of the same id).
 */
export function parseModelPrices(json: string): { ok: true; prices: ModelPrices } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  const parsed = pricesSchema().safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, error: `expected {"<model>": {input, cacheWrite, cacheRead, output}} in USD per million tokens: ${issues.join('; ')}` };
  }
  return { ok: true, prices: Object.freeze({ ...DEFAULT_MODEL_PRICES, ...parsed.data }) };
}
