import * as z from '../util/schema.js';
import { refuse, replicasLine, where, type Action, type ScaleBounds } from './action.js';
import { liveDeployment, observeDeployment } from './deployment.js';

/** The largest count a scale from `from` may reach. */
export function scaleCeiling(from: number, bounds: ScaleBounds): number {
  const byShare = Math.max(1, Math.floor((from * bounds.maxStepPercent) / 100));
  return Math.min(bounds.maxReplicas, from + Math.min(bounds.maxStep, byShare));
}

/** Scale a Deployment up, within bounds; the one action the healer undoes when it did not help. */
export const scaleDeployment: Action<'scale-deployment'> = {
  spec: {
    id: 'scale-deployment',
    description: 'scale a Deployment up through the scale subresource, within the configured bounds (parameters.replicas = the new count)',
    targetKinds: ['Deployment'],
    risk: 'medium',
    reversible: true,
    needsApproval: false,
    cooldownSeconds: 3600,
    changesDesiredState: true,
    scales: true,
    cordons: false,
    removesPod: false,
    isRestart: false,
    needsJobStuckSeconds: false,
    parameters: z.strictObject({ replicas: z.number().check(z.int(), z.gte(1), z.lte(10_000)) }),
    verifyWithinSeconds: 600,
  },
  pinnedToVersion: true,

  plan(input) {
    const live = liveDeployment(input);
    if (!live.ok) return refuse(live.reason);
    const { workload, target, resourceVersion } = live;
    const { parameters, bounds } = input;
    const to = parameters['replicas'];
    if (to === undefined) return refuse('scale-deployment needs parameters.replicas');
    const from = workload.desiredReplicas;
    // Zero replicas is someone's decision (a workload switched off, a migration, a cost cut):
    // saturation of nothing is not a reason to start it again.
    if (from === 0) return refuse(`${where(target)} is scaled to zero: the healer never starts a workload someone switched off`);
    if (to <= from) return refuse(`scale-deployment only scales up: ${where(target)} has ${from}, asked for ${to}`);
    const ceiling = scaleCeiling(from, bounds);
    if (to > ceiling) {
      return refuse(`scaling ${where(target)} from ${from} to ${to} is out of bounds: at most ${ceiling} (max ${bounds.maxReplicas}, +${bounds.maxStep}, +${bounds.maxStepPercent}%)`);
    }
    return { ok: true, plan: { action: 'scale-deployment', target, resourceVersion, parameters, fromReplicas: from, summary: `scale ${where(target)} from ${from} to ${to}` } };
  },

  // Saturation is what the alert saw; the cluster cannot show it. The resourceVersion
  // precondition keeps the scale from acting on a count someone else already changed.
  stillNeeded: (evidence) => (evidence.workload ? null : 'the workload\'s replica status is unknown'),

  async apply(client, plan, { dryRun }) {
    const replicas = plan.parameters['replicas'];
    if (replicas === undefined) throw new Error('scale plan without replicas');
    return { resourceVersion: await client.replaceDeploymentScale(plan.target, replicas, plan.resourceVersion, dryRun) };
  },

  observe: (reads, plan) => observeDeployment(reads, plan.target),

  judge(plan, seen) {
    const r = seen.replicas;
    const to = plan.parameters['replicas'];
    if (!r) return { status: 'failed', detail: 'the Deployment is gone' };
    if (to === undefined) return { status: 'failed', detail: 'the plan has no replica count' };
    if (r.desired !== to) return { status: 'failed', detail: `the replica count is ${r.desired}, not the ${to} set: something else changed it` };
    return r.available >= to ? { status: 'done', detail: `scaled: ${replicasLine(r)}` } : { status: 'pending', detail: `scaling: ${replicasLine(r)}` };
  },

  // A scale-up whose new pods never became available adds nothing but pending pods: undo it.
  revert: {
    outOfBounds(plan) {
      // Only back to what stood before, below the healer's own count.
      const before = plan.fromReplicas;
      const ours = plan.parameters['replicas'];
      if (before === undefined || ours === undefined || !Number.isInteger(before) || !Number.isInteger(ours)) return 'the counts before and after the healer\'s change are unknown';
      return before >= 1 && before < ours ? null : `a revert from ${ours} to ${before} is outside what the healer changed`;
    },
    // Scale back to the count before, only while the Deployment still has exactly the count we
    // set (the read's resourceVersion pins the write).
    async apply(client, plan, { dryRun }) {
      if (plan.fromReplicas === undefined) return { ok: false, detail: `${plan.action} is not reverted by the healer` };
      const scale = await client.readDeploymentScale(plan.target);
      if (plan.target.uid === undefined || scale.uid !== plan.target.uid) {
        return { ok: false, detail: 'not reverted: the Deployment was replaced since the healer scaled it' };
      }
      if (scale.replicas !== plan.parameters['replicas']) {
        return { ok: false, detail: `not reverted: the replica count is now ${scale.replicas ?? '?'}, not the ${plan.parameters['replicas'] ?? '?'} the healer set` };
      }
      const resourceVersion = await client.replaceDeploymentScale(plan.target, plan.fromReplicas, scale.resourceVersion, dryRun);
      if (dryRun) return { ok: true, detail: `server-side dry run of scaling back to ${plan.fromReplicas} accepted; not applied (dry-run mode)` };
      return { ok: true, detail: `scaled back to ${plan.fromReplicas}`, resourceVersion };
    },
  },
};
