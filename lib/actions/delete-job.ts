import * as z from '../util/schema.js';
import type { JobStatusEvidence } from '../domain/types.js';
import { isPlannedObject, planned, refuse, where, type Action } from './action.js';

/** Delete a stuck Job; a CronJob starts its next run on schedule. */
export const deleteJob: Action<'delete-job'> = {
  spec: {
    id: 'delete-job',
    description: 'delete a stuck Job with background propagation (its pods are removed by the garbage collector; a CronJob starts the next run on schedule)',
    targetKinds: ['Job'],
    risk: 'medium',
    reversible: false,
    needsApproval: false,
    cooldownSeconds: 3600,
    // A Job is a run, not a declared workload: deleting a stuck one does not fight git.
    changesDesiredState: false,
    scales: false,
    cordons: false,
    removesPod: false,
    isRestart: false,
    needsJobStuckSeconds: true,
    parameters: z.strictObject({}),
    verifyWithinSeconds: 300,
  },
  // Pinned by uid only: a stuck Job's status may tick (ready counts) without anything changing.
  pinnedToVersion: false,

  plan({ evidence, inChain, parameters, jobLimits }) {
    const job = evidence.job;
    if (!job || job.name !== inChain.name) return refuse(`the live state of ${where(inChain)} was not read`);
    if (!job.uid) return refuse('the Job\'s uid is unknown');
    const target = { kind: 'Job', name: job.name, namespace: inChain.namespace ?? evidence.subject.namespace, uid: job.uid };
    // A Job that already ended is stillNeeded's to answer ("nothing to do"); one still running
    // must be proven stuck, or a human decides.
    const unproven = jobSettled(job) === null ? unprovenStuck(job, jobLimits.jobStuckSeconds) : null;
    if (unproven !== null) return refuse(`${where(target)} is not proven stuck: ${unproven}`);
    return planned('delete-job', target, job.resourceVersion, parameters, `delete ${where(target)} (background propagation)`);
  },

  stillNeeded(evidence, jobLimits) {
    const job = evidence.job;
    if (!job) return 'the Job\'s status is unknown';
    return jobSettled(job) ?? unprovenStuck(job, jobLimits.jobStuckSeconds);
  },

  async apply(client, plan, { dryRun }) {
    await client.deleteJob(plan.target, dryRun);
    return {};
  },

  observe: async (reads, plan) => ({ targetPresent: isPlannedObject(plan.target, await reads.readJob(plan.target)) }),

  judge: (_plan, seen) => (seen.targetPresent ? { status: 'pending', detail: 'the Job still exists' } : { status: 'done', detail: 'the Job is gone' }),
};

/** Why a Job is not running any more (finished, or no active pod), or null while it runs. */
function jobSettled(job: JobStatusEvidence): string | null {
  const finished = job.conditions.find((c) => c.type === 'Complete' || c.type === 'Failed' || c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget');
  if (finished) return `the Job has already finished (${finished.type})`;
  return job.active > 0 ? null : 'the Job has no active pods: it is not stuck running';
}

const isThreshold = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;

/**
 * Why the live status of a running Job does not prove it stuck, or null when it does. Proof is
 * either of:
 * - it runs past its own activeDeadlineSeconds (the Job controller should have ended it), or
 * - it has run at least `stuckSeconds` and made no progress in that time: no pod of it succeeded
 *   (status.succeeded is 0), or the newest success is at least `stuckSeconds` old.
 * Anything the status cannot show (no startTime, successes whose time was not read) is no proof.
 */
export function unprovenStuck(job: JobStatusEvidence, stuckSeconds: number): string | null {
  if (!isThreshold(stuckSeconds)) return 'the stuck threshold is unknown';
  if (job.suspended) return 'the Job is suspended: it is held on purpose';
  const running = job.runningSeconds;
  if (running === undefined) return 'how long it has run is unknown (no startTime)';
  const deadline = job.activeDeadlineSeconds;
  if (deadline !== undefined && running > deadline) return null;
  if (running < stuckSeconds) {
    return `it has run ${running} s, under the ${stuckSeconds} s stuck threshold${deadline !== undefined ? ` and within its activeDeadlineSeconds ${deadline}` : ''}`;
  }
  if (job.succeeded === 0) return null;
  const since = job.secondsSinceLastPodSucceeded;
  if (since === undefined) return `${job.succeeded} of its pods succeeded and when the last one did could not be read: progress cannot be ruled out`;
  return since < stuckSeconds ? `a pod of it succeeded ${since} s ago: it is making progress` : null;
}
