/**
 * A daily limit on what model diagnoses may spend, shared by every worker: the model is an
 * optional extra, so once today's budget is spent the runbook diagnoses alone. Days are UTC
 * calendar days, so every worker agrees on when the budget resets. Whether a diagnosis still fits
 * is a pure decision on today()'s state (budgetExceeded in lib/diagnose/fallback.ts).
 */

export interface ModelBudgetLimits {
  /** USD per UTC day at list prices. 0 means the model is never asked. */
  readonly dailyUsd: number;
  /** Optional cap on tokens per day (input, output and cache together), for models without a price on file. */
  readonly dailyTokens?: number;
}

export interface ModelSpend {
  /** List-price USD; 0 when the model has no price on file (its tokens still count). */
  readonly usd: number;
  readonly tokens: number;
}

export interface ModelBudgetState {
  /** The UTC day the figures are for, YYYY-MM-DD. */
  readonly day: string;
  readonly spentUsd: number;
  readonly spentTokens: number;
  /** Diagnoses recorded today. */
  readonly diagnoses: number;
  readonly limits: ModelBudgetLimits;
}

export interface ModelBudget {
  /** Today's spend so far. Throws when it cannot be read: the caller then uses the runbook, not the model. */
  today(nowMs: number): Promise<ModelBudgetState>;
  /** Adds one diagnosis' spend to today's counter, atomically (concurrent workers all count). */
  record(spend: ModelSpend, nowMs: number): Promise<void>;
}

