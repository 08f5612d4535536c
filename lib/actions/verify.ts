import type { ActionPlan, Judgement, Observation } from './action.js';
import { actionOf } from './registry.js';

/**
 * Did the action work? The action's record observes the live objects and judges them; this adds
 * the action's own time limit, so verification can be re-checked later from a delayed queue
 * message instead of a Lambda sleeping.
 */
export type { Judgement, Observation } from './action.js';

/** Seconds since the action, against the action's own verifyWithinSeconds. */
export function judge(plan: ActionPlan, seen: Observation, elapsedSeconds: number): Judgement {
  const action = actionOf(plan.action);
  const outcome = action.judge(plan, seen);
  if (outcome.status !== 'pending') return outcome;
  const limit = action.spec.verifyWithinSeconds;
  return elapsedSeconds >= limit ? { status: 'failed', detail: `not done after ${Math.round(elapsedSeconds)} s (limit ${limit} s): ${outcome.detail}` } : outcome;
}
