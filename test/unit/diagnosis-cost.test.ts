import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import { costAt, costOf, DEFAULT_MODEL_PRICES, parseModelPrices, priceOf, totalTokens } from '../../lib/diagnose/cost.js';
import { budgetExceeded } from '../../lib/diagnose/fallback.js';
import type { ModelBudgetState } from '../../lib/ports/model-budget.js';

describe('model prices', () => {
  it('finds a model by its id or a dated snapshot of it, and nothing looser', () => {
    expect(priceOf('claude-sonnet-5-5')).toEqual({ input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 });
    expect(priceOf('claude-haiku-4-5-20251001')).toBe(DEFAULT_MODEL_PRICES['claude-haiku-4-5']);
    expect(priceOf('claude-sonnet-5@20260630')).toBe(DEFAULT_MODEL_PRICES['claude-sonnet-5']);
    expect(priceOf('claude-sonnet-5-7')).toBeUndefined(); // not claude-sonnet-5
    expect(priceOf('claude-sonnet-5-5-turbo')).toBeUndefined();
    expect(priceOf('toString')).toBeUndefined(); // no prototype lookups
  });

  it('prices each kind of token at its own rate', () => {
    // Act
    const usd = costAt({ inputTokens: 1_000_000, outputTokens: 100_000, cacheReadTokens: 2_000_000, cacheWriteTokens: 400_000 }, { input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 });
    // Assess: 2 + 1 + 0.4 + 1
    expect(usd).toBeCloseTo(4.4, 10);
  });

  it('gives an unknown model no cost at all, not 0', () => {
    expect(costOf({ inputTokens: 1000, outputTokens: 100 }, 'claude-unknown-9')).toBeUndefined();
    expect(costOf(undefined, 'claude-sonnet-5-5')).toBeUndefined();
    expect(costOf({ inputTokens: 1000, outputTokens: 100 }, 'claude-sonnet-5-5')).toBeCloseTo(0.003, 12);
  });

  it('counts every token for a token budget', () => {
    expect(totalTokens({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 100, cacheWriteTokens: 20 })).toBe(135);
    expect(totalTokens(undefined)).toBe(0);
  });

  it('takes overrides from HEALER_MODEL_PRICES over the defaults and refuses a malformed table', () => {
    // Act
    const config = loadConfig({ HEALER_MODEL_PRICES: '{"claude-sonnet-5-5":{"input":2,"cacheWrite":2.5,"cacheRead":0.1,"output":10},"my-proxy-model":{"input":1,"cacheWrite":1,"cacheRead":1,"output":1}}' });
    // Assess
    expect(priceOf('claude-sonnet-5-5', config.settings.model.prices)?.cacheRead).toBe(0.1);
    expect(priceOf('my-proxy-model', config.settings.model.prices)?.input).toBe(1);
    expect(priceOf('claude-haiku-4-5', config.settings.model.prices)).toEqual(DEFAULT_MODEL_PRICES['claude-haiku-4-5']);
    expect(loadConfig({}).settings.model.prices).toBe(DEFAULT_MODEL_PRICES);
    expect(parseModelPrices('{"m":{"input":"2"}}')).toMatchObject({ ok: false });
    expect(parseModelPrices('not json')).toEqual({ ok: false, error: 'not valid JSON' });
    expect(() => loadConfig({ HEALER_MODEL_PRICES: '{"m":{"input":-1,"cacheWrite":0,"cacheRead":0,"output":0}}' })).toThrow(/HEALER_MODEL_PRICES/);
  });

  it('has budget and loop defaults, and reads them from the environment', () => {
    expect(loadConfig({}).settings.model).toMatchObject({ maxSteps: 4, maxInputTokens: 60_000, dailyBudgetUsd: 20, dailyBudgetTokens: undefined });
    expect(loadConfig({ HEALER_MODEL_DAILY_BUDGET_USD: '0', HEALER_MODEL_DAILY_BUDGET_TOKENS: '2000000', HEALER_MODEL_MAX_STEPS: '1' }).settings.model)
      .toMatchObject({ dailyBudgetUsd: 0, dailyBudgetTokens: 2_000_000, maxSteps: 1 });
    expect(loadConfig({ HEALER_MODEL_DAILY_BUDGET_TOKENS: '' }).settings.model.dailyBudgetTokens).toBeUndefined();
  });
});

describe('the daily model budget check', () => {
  const state = (spentUsd: number, extra: Partial<ModelBudgetState> = {}): ModelBudgetState => ({
    day: '2026-11-25', spentUsd, spentTokens: 0, diagnoses: 7, limits: { dailyUsd: 20 }, ...extra,
  });

  it('lets a diagnosis through while the day has budget left, and says why not once it is spent', () => {
    expect(budgetExceeded(state(19.99))).toBeNull();
    expect(budgetExceeded(state(20))).toBe('the daily model budget is spent: $20.00 of $20.00 on 2026-11-25 (UTC, 7 model diagnoses)');
    expect(budgetExceeded(state(19.9), 0.2)).toMatch(/spent: \$19\.90 of \$20\.00/); // the reserve no longer fits
    expect(budgetExceeded(state(0, { limits: { dailyUsd: 0 } }))).toMatch(/spent/); // 0 means never ask
  });

  it('also holds a token limit, for models without a price', () => {
    expect(budgetExceeded(state(0, { spentTokens: 999, limits: { dailyUsd: 20, dailyTokens: 1000 } }))).toBeNull();
    expect(budgetExceeded(state(0, { spentTokens: 1000, limits: { dailyUsd: 20, dailyTokens: 1000 } }))).toMatch(/1000 of 1000 tokens/);
  });
});
