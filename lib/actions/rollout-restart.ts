import * as z from '../util/schema.js';
import { planned, refuse, replicasLine, where, type Action } from './action.js';
import { liveDeployment, observeDeployment } from './deployment.js';

/** The annotation `kubectl rollout restart` sets; the Deployment controller rolls on its change. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** A rolling restart of a Deployment, as `kubectl rollout restart` makes it. */
export const rolloutRestart: Action<'rollout-restart'> = {
  spec: {
    id: 'rollout-restart',
    description: 'rolling restart of a Deployment (sets the restartedAt annotation on its pod template)',
    targetKinds: ['Deployment'],
    risk: 'medium',
    reversible: false,
    needsApproval: false,
    cooldownSeconds: 3600,
    changesDesiredState: true,
    scales: false,
    cordons: false,
    removesPod: false,
    isRestart: true,
    needsJobStuckSeconds: false,
    parameters: z.strictObject({}),
    verifyWithinSeconds: 600,
  },
  pinnedToVersion: true,

  plan(input) {
    const live = liveDeployment(input);
    if (!live.ok) return refuse(live.reason);
    const { workload, target, resourceVersion } = live;
    if (workload.desiredReplicas === 0) return refuse(`${where(target)} is scaled to zero: a restart would do nothing`);
    return planned('rollout-restart', target, resourceVersion, input.parameters, `rolling restart of ${where(target)}`);
  },

  stillNeeded(evidence) {
    const w = evidence.workload;
    if (!w) return 'the workload\'s replica status is unknown';
    return w.desiredReplicas > 0 && w.availableReplicas >= w.desiredReplicas ? 'the target is healthy again: every replica is available' : null;
  },

  async apply(client, plan, { dryRun, nowMs }) {
    // resourceVersion in a patch body is an optimistic-concurrency precondition.
    const resourceVersion = await client.patchDeployment(plan.target, {
      metadata: { resourceVersion: plan.resourceVersion, uid: plan.target.uid },
      spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date(nowMs).toISOString() } } } },
    }, dryRun);
    return { resourceVersion };
  },

  observe: (reads, plan) => observeDeployment(reads, plan.target),

  judge(_plan, seen) {
    const r = seen.replicas;
    if (!r) return { status: 'failed', detail: 'the Deployment is gone' };
    const done = r.observedLatest && r.updated >= r.desired && r.available >= r.desired;
    return done ? { status: 'done', detail: `the rollout finished: ${replicasLine(r)}` } : { status: 'pending', detail: `the rollout is in progress: ${replicasLine(r)}` };
  },
};
