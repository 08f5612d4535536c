import { ACTIONS } from './catalog.js';
import type { ActionPlan } from './plan.js';

/**
 * Did the action work? The adapter observes the live objects (Observation); this pure judge
 * says done, still pending, or failed, so verification can be re-checked later from a delayed
 * queue message instead of a Lambda sleeping.
 */
export interface Observation {
  /** The very object the plan named (same uid) still exists and is not being deleted. */
  readonly targetPresent: boolean;
  /** Replica counts of the workload that verification watches (the Deployment, or the evicted pod's ReplicaSet). */
  readonly replicas?: {
    readonly desired: number;
    readonly updated: number;
    readonly ready: number;
    readonly available: number;
    /** The controller has seen the latest spec (observedGeneration >= generation). */
    readonly observedLatest: boolean;
  };
  readonly unschedulable?: boolean;
}

export type Judgement =
  | { readonly status: 'done'; readonly detail: string }
  | { readonly status: 'pending'; readonly detail: string }
  | { readonly status: 'failed'; readonly detail: string };

/** Seconds since the action, against the action's own verifyWithinSeconds. */
export function judge(plan: ActionPlan, seen: Observation, elapsedSeconds: number): Judgement {
  const outcome = assess(plan, seen);
  if (outcome.status !== 'pending') return outcome;
  const limit = ACTIONS[plan.action].verifyWithinSeconds;
  return elapsedSeconds >= limit ? { status: 'failed', detail: `not done after ${Math.round(elapsedSeconds)} s (limit ${limit} s): ${outcome.detail}` } : outcome;
}

function replicasLine(r: NonNullable<Observation['replicas']>): string {
  return `${r.available}/${r.desired} available, ${r.updated} updated, ${r.ready} ready`;
}

function assess(plan: ActionPlan, seen: Observation): Judgement {
  switch (plan.action) {
    case 'evict-pod': {
      if (seen.targetPresent) return { status: 'pending', detail: 'the evicted pod is still there' };
      const r = seen.replicas;
      if (!r) return { status: 'done', detail: 'the pod is gone (its replacement\'s readiness is not observable for this owner)' };
      return r.ready >= r.desired ? { status: 'done', detail: `the pod was replaced and its owner is Ready (${replicasLine(r)})` } : { status: 'pending', detail: `the replacement is not Ready yet (${replicasLine(r)})` };
    }
    case 'rollout-restart': {
      const r = seen.replicas;
      if (!r) return { status: 'failed', detail: 'the Deployment is gone' };
      const done = r.observedLatest && r.updated >= r.desired && r.available >= r.desired;
      return done ? { status: 'done', detail: `the rollout finished: ${replicasLine(r)}` } : { status: 'pending', detail: `the rollout is in progress: ${replicasLine(r)}` };
    }
    case 'scale-deployment': {
      const r = seen.replicas;
      const to = plan.parameters['replicas'];
      if (!r) return { status: 'failed', detail: 'the Deployment is gone' };
      if (to === undefined) return { status: 'failed', detail: 'the plan has no replica count' };
      if (r.desired !== to) return { status: 'failed', detail: `the replica count is ${r.desired}, not the ${to} set: something else changed it` };
      return r.available >= to ? { status: 'done', detail: `scaled: ${replicasLine(r)}` } : { status: 'pending', detail: `scaling: ${replicasLine(r)}` };
    }
    case 'delete-job':
      return seen.targetPresent ? { status: 'pending', detail: 'the Job still exists' } : { status: 'done', detail: 'the Job is gone' };
    case 'cordon-node':
      return seen.unschedulable === true ? { status: 'done', detail: 'the node is cordoned' } : { status: 'failed', detail: 'the node is schedulable: the cordon did not hold' };
  }
}
