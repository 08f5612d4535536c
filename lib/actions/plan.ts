import type { ActionId, Diagnosis, Evidence, JobStatusEvidence, ObjectRef } from '../domain/types.js';
import { ACTIONS, isActionId } from './catalog.js';

/**
 * From a validated diagnosis and the live evidence to the exact change the healer would make:
 * which object (pinned by uid and resourceVersion), which parameters, and what counts as done.
 * Pure: the same inputs always give the same plan, so the policy, the worker and the approval
 * function all arrive at the same one.
 */

/** Bounds for scale-deployment (HEALER_SCALE_*). Both step limits hold; +1 is always within them. */
export interface ScaleBounds {
  /** Never above this many replicas. */
  readonly maxReplicas: number;
  /** Never more than this many replicas added at once. */
  readonly maxStep: number;
  /** Never more than this share (percent) of the current count added at once (rounded down, at least 1). */
  readonly maxStepPercent: number;
}

/** What proves a Job stuck (HEALER_JOB_STUCK_SECONDS): see unprovenStuck. */
export interface JobLimits {
  /** Running at least this long with no pod succeeding in this long: stuck. A positive whole number. */
  readonly jobStuckSeconds: number;
}

export interface ActionPlan {
  readonly action: ActionId;
  /** Canonical target: namespace set for namespaced kinds, uid from the live object. */
  readonly target: ObjectRef;
  /** The object's resourceVersion the plan was made against: a change since makes the API refuse. */
  readonly resourceVersion?: string;
  readonly parameters: Readonly<Record<string, number>>;
  /** scale-deployment: the replica count before, so verification and revert know it. */
  readonly fromReplicas?: number;
  /** evict-pod: the ReplicaSet whose readiness shows the replacement came up. */
  readonly watch?: ObjectRef;
  /** One line for audit, page and approval screen. */
  readonly summary: string;
}

export type PlanResult = { readonly ok: true; readonly plan: ActionPlan } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): PlanResult => ({ ok: false, reason });

const where = (t: ObjectRef) => `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;

/** The largest count a scale from `from` may reach. */
export function scaleCeiling(from: number, bounds: ScaleBounds): number {
  const byShare = Math.max(1, Math.floor((from * bounds.maxStepPercent) / 100));
  return Math.min(bounds.maxReplicas, from + Math.min(bounds.maxStep, byShare));
}

export function planAction(diagnosis: Diagnosis, evidence: Evidence, bounds: ScaleBounds, jobLimits: JobLimits): PlanResult {
  const action = diagnosis.recommendation;
  if (!isActionId(action)) return refuse(`"${action}" is not an action`);
  const spec = ACTIONS[action];
  const proposed = diagnosis.target;
  if (!proposed) return refuse(`${action} needs a target`);
  const inChain = evidence.ownerChain.find(
    (o) => o.kind === proposed.kind && o.name === proposed.name && (o.namespace ?? '') === (proposed.namespace ?? o.namespace ?? ''),
  );
  if (!inChain) return refuse(`target ${where(proposed)} is not in the incident's owner chain`);
  if (!spec.targetKinds.includes(inChain.kind)) return refuse(`${action} cannot target a ${inChain.kind}`);
  const parsed = spec.parameters.safeParse(diagnosis.parameters ?? {});
  if (!parsed.success) {
    return refuse(`parameters for ${action} are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const parameters = parsed.data;

  switch (action) {
    case 'evict-pod': {
      if (evidence.subject.kind !== 'Pod' || inChain.name !== evidence.subject.name) return refuse('evict-pod may only evict the incident\'s own pod');
      if (!inChain.uid) return refuse('the pod\'s uid is unknown: an eviction could hit a replacement');
      const target = { kind: 'Pod', name: inChain.name, namespace: evidence.subject.namespace, uid: inChain.uid };
      const owner = evidence.ownerChain[1];
      const planned = ok(action, target, evidence.resourceVersion, parameters, `evict ${where(target)}`);
      return planned.ok && owner?.kind === 'ReplicaSet' ? { ok: true, plan: { ...planned.plan, watch: owner } } : planned;
    }
    case 'rollout-restart':
    case 'scale-deployment': {
      const w = evidence.workload;
      if (!w || w.kind !== 'Deployment' || w.name !== inChain.name) return refuse(`the live state of ${where(inChain)} was not read`);
      if (!w.resourceVersion) return refuse(`the resourceVersion of ${where(inChain)} is unknown`);
      if (w.paused) return refuse(`${where(inChain)} is paused: a rollout is being held on purpose`);
      const target = { kind: 'Deployment', name: w.name, namespace: inChain.namespace ?? evidence.subject.namespace, uid: w.uid };
      if (action === 'rollout-restart') {
        if (w.desiredReplicas === 0) return refuse(`${where(target)} is scaled to zero: a restart would do nothing`);
        return ok(action, target, w.resourceVersion, parameters, `rolling restart of ${where(target)}`);
      }
      const to = parameters['replicas'];
      if (to === undefined) return refuse('scale-deployment needs parameters.replicas');
      const from = w.desiredReplicas;
      // Zero replicas is someone's decision (a workload switched off, a migration, a cost cut):
      // saturation of nothing is not a reason to start it again.
      if (from === 0) return refuse(`${where(target)} is scaled to zero: the healer never starts a workload someone switched off`);
      if (to <= from) return refuse(`scale-deployment only scales up: ${where(target)} has ${from}, asked for ${to}`);
      const ceiling = scaleCeiling(from, bounds);
      if (to > ceiling) {
        return refuse(`scaling ${where(target)} from ${from} to ${to} is out of bounds: at most ${ceiling} (max ${bounds.maxReplicas}, +${bounds.maxStep}, +${bounds.maxStepPercent}%)`);
      }
      return { ok: true, plan: { action, target, resourceVersion: w.resourceVersion, parameters, fromReplicas: from, summary: `scale ${where(target)} from ${from} to ${to}` } };
    }
    case 'delete-job': {
      const job = evidence.job;
      if (!job || job.name !== inChain.name) return refuse(`the live state of ${where(inChain)} was not read`);
      if (!job.uid) return refuse('the Job\'s uid is unknown');
      const target = { kind: 'Job', name: job.name, namespace: inChain.namespace ?? evidence.subject.namespace, uid: job.uid };
      // A Job that already ended is stillNeeded's to answer ("nothing to do"); one still running
      // must be proven stuck, or a human decides.
      const unproven = jobSettled(job) === null ? unprovenStuck(job, jobLimits.jobStuckSeconds) : null;
      if (unproven !== null) return refuse(`${where(target)} is not proven stuck: ${unproven}`);
      return ok(action, target, job.resourceVersion, parameters, `delete ${where(target)} (background propagation)`);
    }
    case 'cordon-node': {
      const node = evidence.node;
      if (!node || node.name !== inChain.name) return refuse(`the live state of Node ${inChain.name} was not read`);
      if (!node.resourceVersion) return refuse(`the resourceVersion of Node ${node.name} is unknown`);
      const target = { kind: 'Node', name: node.name, uid: node.uid };
      return ok(action, target, node.resourceVersion, parameters, `cordon ${where(target)} (no drain)`);
    }
  }
}

function ok(action: ActionId, target: ObjectRef, resourceVersion: string | undefined, parameters: Readonly<Record<string, number>>, summary: string): PlanResult {
  return { ok: true, plan: { action, target, ...(resourceVersion ? { resourceVersion } : {}), parameters, summary } };
}

/**
 * Whether the live evidence still shows the problem the action addresses, or why not. Checked
 * right before acting: a target that healed, went away or is already being handled is left alone.
 */
export function stillNeeded(action: ActionId, evidence: Evidence, jobLimits: JobLimits): string | null {
  if (!evidence.exists) return 'the target no longer exists';
  if (evidence.deleting) return 'the target is already being deleted';
  switch (action) {
    case 'evict-pod':
      return evidence.podReady === true ? 'the target is healthy again' : null;
    case 'rollout-restart': {
      const w = evidence.workload;
      if (!w) return 'the workload\'s replica status is unknown';
      return w.desiredReplicas > 0 && w.availableReplicas >= w.desiredReplicas ? 'the target is healthy again: every replica is available' : null;
    }
    case 'scale-deployment':
      // Saturation is what the alert saw; the cluster cannot show it. The resourceVersion
      // precondition keeps the scale from acting on a count someone else already changed.
      return evidence.workload ? null : 'the workload\'s replica status is unknown';
    case 'delete-job': {
      const job = evidence.job;
      if (!job) return 'the Job\'s status is unknown';
      return jobSettled(job) ?? unprovenStuck(job, jobLimits.jobStuckSeconds);
    }
    case 'cordon-node': {
      const node = evidence.node;
      if (!node) return 'the node\'s status is unknown';
      if (node.unschedulable) return 'the node is already cordoned';
      const ready = node.conditions.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? 'the node is Ready again' : null;
    }
  }
}

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
