import type { KubeConfig } from '@kubernetes/client-node';
import type { HealerConfig } from '../config/config.js';
import { anthropicDiagnoserFromConfig } from '../adapters/anthropic-diagnoser.js';
import { DynamoModelBudget } from '../adapters/dynamo-model-budget.js';
import { KubernetesInvestigator } from '../adapters/kubernetes-investigator.js';
import { withRunbookFallback } from '../diagnose/fallback.js';
import { runbookDiagnoser } from '../diagnose/runbook.js';
import type { Diagnoser } from '../ports/index.js';
import { priceOf } from '../diagnose/cost.js';
import { log } from './middleware.js';
import type { Metrics } from '../ports/metrics.js';

/**
 * The worker's diagnoser: Claude (with read-only investigation when HEALER_MODEL_MAX_STEPS > 1)
 * behind the runbook fallback and the daily model budget; the runbook alone without an API key.
 */
export function modelDiagnoserFromConfig(config: HealerConfig, deps: { readonly apiKey: string | undefined; readonly kubeConfig: KubeConfig; readonly metrics?: Metrics | undefined }): Diagnoser {
  // A model without a price would record $0 and the dollar budget would never close: without a
  // token budget to bound it instead, such a model is not asked at all (fail closed).
  const unpriced = unpricedWithoutTokenBudget(config);
  if (deps.apiKey && unpriced) {
    log('warn', 'model has no price and no token budget is set; runbook only', { model: config.settings.model.name });
    return withRunbookFallback(undefined, runbookDiagnoser, { noModelReason: unpriced, metrics: deps.metrics });
  }
  const model = anthropicDiagnoserFromConfig(config, {
    ...(deps.apiKey ? { apiKey: deps.apiKey } : {}),
    ...(config.settings.model.maxSteps > 1 ? { investigator: new KubernetesInvestigator(deps.kubeConfig) } : {}),
  });
  // Only a model spends: without one there is nothing to count and no table read per diagnosis.
  const budget = model
    ? new DynamoModelBudget({
        tableName: config.stateTable,
        limits: { dailyUsd: config.settings.model.dailyBudgetUsd, ...(config.settings.model.dailyBudgetTokens !== undefined ? { dailyTokens: config.settings.model.dailyBudgetTokens } : {}) },
      })
    : undefined;
  return withRunbookFallback(model, runbookDiagnoser, {
    budget,
    metrics: deps.metrics,
    onBudgetError: (error) => log('warn', 'model spend not recorded in the daily budget', { error: error instanceof Error ? error.message : String(error) }),
  });
}

/** Why the configured model may not be asked for lack of a price, or undefined when it may. Pure. */
export function unpricedWithoutTokenBudget(config: Pick<HealerConfig, 'settings'>): string | undefined {
  const { name, prices, dailyBudgetTokens } = config.settings.model;
  if (priceOf(name, prices) !== undefined || dailyBudgetTokens !== undefined) return undefined;
  return `model ${name} has no price on file (HEALER_MODEL_PRICES) and no token budget is set (HEALER_MODEL_DAILY_BUDGET_TOKENS): its spend could not be bounded, runbook rules only`;
}
