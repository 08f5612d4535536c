import type { ActionId } from '../domain/types.js';
import type { Action, ActionSpec } from './action.js';
import { cordonNode } from './cordon-node.js';
import { deleteJob } from './delete-job.js';
import { evictPod } from './evict-pod.js';
import { rolloutRestart } from './rollout-restart.js';
import { scaleDeployment } from './scale-deployment.js';

/**
 * Every action the healer may ever take, one record each (lib/actions/<id>.ts). The type makes
 * the compiler check this table against ACTION_IDS both ways: an id without a record, a record
 * without an id, or a record filed under another id's key does not compile.
 */
const REGISTRY: { readonly [K in ActionId]: Action<K> } = {
  'evict-pod': evictPod,
  'rollout-restart': rolloutRestart,
  'scale-deployment': scaleDeployment,
  'delete-job': deleteJob,
  'cordon-node': cordonNode,
};
Object.freeze(REGISTRY);

export function isActionId(value: string): value is ActionId {
  return Object.hasOwn(REGISTRY, value);
}

/** The record of an allowlisted action. */
export function actionOf(id: ActionId): Action {
  return REGISTRY[id];
}

/** The safety metadata of every action, side by side. Policy, planning, the prompt and approval read it. */
export const ACTIONS: Readonly<Record<ActionId, ActionSpec>> = Object.freeze(
  Object.fromEntries(Object.values(REGISTRY).map((a: Action) => [a.spec.id, a.spec])) as Record<ActionId, ActionSpec>,
);

export function specOf(action: ActionId): ActionSpec {
  return ACTIONS[action];
}

/**
 * Whether an action needs approval at this site: its own declaration, or the operators' list
 * (HEALER_APPROVAL_ACTIONS), which can only add approvals, never remove the code's.
 */
export function needsApproval(action: ActionId, alsoRequired: readonly string[]): boolean {
  return ACTIONS[action].needsApproval || alsoRequired.includes(action);
}
