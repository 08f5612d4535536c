import type { ActionId, Diagnosis, Evidence } from '../domain/types.js';
import { refuse, where, type JobLimits, type PlanResult, type ScaleBounds } from './action.js';
import { actionOf, isActionId } from './registry.js';

/**
 * From a validated diagnosis and the live evidence to the exact change the healer would make:
 * which object (pinned by uid and resourceVersion), which parameters, and what counts as done.
 * Pure: the same inputs always give the same plan, so the policy, the worker and the approval
 * function all arrive at the same one. The checks every action shares are here; the rest is the
 * action's own record.
 */
export type { ActionPlan, JobLimits, PlanResult, ScaleBounds } from './action.js';
export { scaleCeiling } from './scale-deployment.js';
export { unprovenStuck } from './delete-job.js';

export function planAction(diagnosis: Diagnosis, evidence: Evidence, bounds: ScaleBounds, jobLimits: JobLimits): PlanResult {
  const action = diagnosis.recommendation;
  if (!isActionId(action)) return refuse(`"${action}" is not an action`);
  const record = actionOf(action);
  const proposed = diagnosis.target;
  if (!proposed) return refuse(`${action} needs a target`);
  const inChain = evidence.ownerChain.find(
    (o) => o.kind === proposed.kind && o.name === proposed.name && (o.namespace ?? '') === (proposed.namespace ?? o.namespace ?? ''),
  );
  if (!inChain) return refuse(`target ${where(proposed)} is not in the incident's owner chain`);
  // The diagnosis was about one object; a same-named replacement created since is another.
  if (proposed.uid !== undefined && inChain.uid !== proposed.uid) {
    return refuse(`target ${where(proposed)} was replaced since the diagnosis (uid ${proposed.uid}, now ${inChain.uid ?? 'unknown'})`);
  }
  if (!record.spec.targetKinds.includes(inChain.kind)) return refuse(`${action} cannot target a ${inChain.kind}`);
  const parsed = record.spec.parameters.safeParse(diagnosis.parameters ?? {});
  if (!parsed.success) {
    return refuse(`parameters for ${action} are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return record.plan({ diagnosis, evidence, inChain, parameters: parsed.data, bounds, jobLimits });
}

/**
 * Whether the live evidence still shows the problem the action addresses, or why not. Checked
 * right before acting: a target that healed, went away or is already being handled is left alone.
 */
export function stillNeeded(action: ActionId, evidence: Evidence, jobLimits: JobLimits): string | null {
  if (!evidence.exists) return 'the target no longer exists';
  if (evidence.deleting) return 'the target is already being deleted';
  return actionOf(action).stillNeeded(evidence, jobLimits);
}
