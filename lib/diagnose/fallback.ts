import { ACTION_IDS, type ActionId, type Diagnosis, type DiagnosisCategory, type Evidence, type Incident, type Recommendation } from '../domain/types.js';
import { systemClock, type Clock, type DiagnoseOptions, type Diagnoser } from '../ports/index.js';
import type { ModelBudget, ModelBudgetState } from '../ports/model-budget.js';
import { totalTokens } from './cost.js';
import { specOf } from '../actions/catalog.js';
import type { Metrics } from '../ports/metrics.js';
import { modelFallback, modelSpend } from '../metrics/healer-metrics.js';

/**
 * The model is optional and fallible; the runbook is neither. This wrapper answers with the
 * runbook when there is no model, when today's model budget is spent (or cannot be read), when
 * the model fails or its verdict is refused, and it cross-checks a model's action against what
 * the runbook knows a restart cannot fix. What the model spent is added to the daily budget,
 * whether its answer stood or not.
 */

/** Categories where recreating the pod repeats the failure. */
export const RESTART_USELESS: readonly DiagnosisCategory[] = ['oom', 'image-pull', 'config-error', 'bad-release'];

const isAction = (r: Recommendation): r is ActionId => (ACTION_IDS as readonly string[]).includes(r);

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Usage and model of a failed model call, when the error carries them (DiagnosisUnavailable does). */
function spentOn(err: unknown): Pick<Diagnosis, 'usage' | 'model'> {
  const details = (err as { details?: { usage?: Diagnosis['usage']; model?: string } } | undefined)?.details;
  return {
    ...(details?.usage ? { usage: details.usage } : {}),
    ...(details?.model ? { model: details.model } : {}),
  };
}

/** Why the model's action must become a page, or null when the cross-check passes. */
export function crossCheck(model: Diagnosis, runbook: Diagnosis | undefined): string | null {
  if (model.recommendation === 'none') {
    // "Nothing to do" silences the page, so it needs the runbook's agreement too.
    if (!runbook) return 'the runbook cross-check could not run';
    return runbook.recommendation === 'none' ? null : `the model sees nothing to do, but the runbook finds: ${runbook.summary}`;
  }
  if (!isAction(model.recommendation)) return null;
  if (!runbook) return 'the runbook cross-check could not run';
  if (!runbook.restartCanHelp && RESTART_USELESS.includes(runbook.category)) {
    return `the runbook finds ${runbook.category} (${runbook.summary}), which a restart cannot fix`;
  }
  if (!model.restartCanHelp) return 'the model itself says the action cannot help';
  if (RESTART_USELESS.includes(model.category)) return `the model's own category ${model.category} is not fixed by a restart`;
  // Restarts are the model's to judge within the checks above. Scaling, deleting a Job and
  // cordoning a node need the runbook to recognise the same situation: the model may add
  // confidence or turn them into a page, never invent one of them.
  if (!specOf(model.recommendation).isRestart) {
    if (runbook.recommendation !== model.recommendation) {
      return `the runbook does not recognise a situation for ${model.recommendation} (it proposes ${runbook.recommendation})`;
    }
    const same = (a: Diagnosis['target'], b: Diagnosis['target']) => a?.kind === b?.kind && a?.name === b?.name && (a?.namespace ?? '') === (b?.namespace ?? '');
    if (!same(model.target, runbook.target)) return `the runbook proposes ${runbook.recommendation} for another target`;
  }
  return null;
}

/**
 * Why today's budget does not allow a model diagnosis expected to cost `reserveUsd`, or null when
 * it does. Pure. Workers that pass this check at the same time can overshoot the limit by the
 * diagnoses under way, each bounded by the diagnoser's input-token budget.
 */
export function budgetExceeded(state: ModelBudgetState, reserveUsd = 0): string | null {
  const { dailyUsd, dailyTokens } = state.limits;
  const on = `on ${state.day} (UTC, ${state.diagnoses} model diagnoses)`;
  if (state.spentUsd >= dailyUsd || state.spentUsd + reserveUsd > dailyUsd) {
    return `the daily model budget is spent: $${state.spentUsd.toFixed(2)} of $${dailyUsd.toFixed(2)} ${on}`;
  }
  if (dailyTokens !== undefined && state.spentTokens >= dailyTokens) {
    return `the daily model budget is spent: ${state.spentTokens} of ${dailyTokens} tokens ${on}`;
  }
  return null;
}

export interface FallbackOptions {
  /** Today's model spend against its limit; without one, model diagnoses are not limited per day. */
  readonly budget?: ModelBudget | undefined;
  readonly clock?: Clock;
  /** Expected USD of one diagnosis, which must still fit today's limit (default 0: ask while anything is left). */
  readonly reserveUsd?: number;
  /** Told when spend could not be recorded; the diagnosis stands regardless. */
  readonly onBudgetError?: (error: unknown) => void;
  /** Why there is no model, for the audit and the page (default: no API key). */
  readonly noModelReason?: string;
  /** Counts model requests, tokens and cost, and every fallback to the runbook by reason. */
  readonly metrics?: Metrics | undefined;
}

export function withRunbookFallback(primary: Diagnoser | undefined, runbook: Diagnoser, fallbackOptions: FallbackOptions = {}): Diagnoser {
  const { budget, reserveUsd = 0, onBudgetError } = fallbackOptions;
  const clock = fallbackOptions.clock ?? systemClock;
  const metrics = fallbackOptions.metrics;

  async function recordSpend(usage: Diagnosis['usage'], model: string | undefined): Promise<void> {
    if (usage) for (const p of modelSpend(usage, model)) metrics?.record(p);
    if (!budget || !usage) return;
    try {
      await budget.record({ usd: usage.costUsd ?? 0, tokens: totalTokens(usage) }, clock.now());
    } catch (err) {
      onBudgetError?.(err);
    }
  }

  return {
    async diagnose(incident: Incident, evidence: Evidence, options?: DiagnoseOptions): Promise<Diagnosis> {
      if (!primary) {
        const d = await runbook.diagnose(incident, evidence, options);
        metrics?.record(modelFallback('no-model'));
        return { ...d, fallbackReason: fallbackOptions.noModelReason ?? 'no model configured (no API key); runbook rules only' };
      }
      // The runbook is local and deterministic; run it first so the cross-check never waits on it.
      let rb: Diagnosis | undefined;
      let rbError: unknown;
      try {
        rb = await runbook.diagnose(incident, evidence, options);
      } catch (err) {
        rbError = err;
      }

      if (budget) {
        // An unreadable budget fails towards the runbook: a diagnosis still happens, spend does not.
        let state: ModelBudgetState;
        try {
          state = await budget.today(clock.now());
        } catch (err) {
          if (!rb) throw rbError;
          metrics?.record(modelFallback('budget-unreadable'));
          return { ...rb, fallbackReason: `the daily model budget could not be read, runbook used: ${describe(err)}` };
        }
        const spent = budgetExceeded(state, reserveUsd);
        if (spent !== null) {
          if (!rb) throw rbError;
          metrics?.record(modelFallback('budget-spent'));
          return { ...rb, fallbackReason: `${spent}; runbook used` };
        }
      }

      let model: Diagnosis;
      try {
        model = await primary.diagnose(incident, evidence, options);
      } catch (err) {
        const spent = spentOn(err);
        await recordSpend(spent.usage, spent.model);
        if (!rb) throw rbError;
        metrics?.record(modelFallback('model-failed'));
        return { ...rb, ...spent, fallbackReason: `model diagnosis unavailable, runbook used: ${describe(err)}` };
      }
      await recordSpend(model.usage, model.model);

      const why = crossCheck(model, rb);
      if (why === null) return model;
      metrics?.record(modelFallback('downgraded'));
      return {
        ...model,
        recommendation: 'page',
        restartCanHelp: false,
        fallbackReason: `model recommended ${model.recommendation}, downgraded to page: ${why}`,
      };
    },
  };
}
