import type * as z from '../util/schema.js';
import type { ActionId, Diagnosis, Evidence, ObjectRef } from '../domain/types.js';
import type { ActionClient, ActionReads } from './client.js';

/**
 * What one action is, as one record (lib/actions/<id>.ts): its safety metadata, its pure
 * decisions (plan, still needed, judge) and its Kubernetes I/O written against narrow ports
 * (apply, observe, revert) that lib/adapters/kubernetes-actions.ts implements once. The
 * registry (registry.ts) lists the records; nothing outside lib/actions/<id>.ts branches on an
 * action id. No SDK import here or in any record: the webhook bundle imports this layer.
 */

/** The safety metadata of an action, declared in code where a reviewer sees it next to the others. */
export interface ActionSpec<K extends ActionId = ActionId> {
  readonly id: K;
  /** What the action does, in one line a human and the model both read. */
  readonly description: string;
  /** The kinds it may be aimed at; the target must also lie in the incident's owner chain. */
  readonly targetKinds: readonly string[];
  readonly risk: 'low' | 'medium' | 'high';
  /** Whether the action can be undone at all (the healer undoes it only where the record has a revert). */
  readonly reversible: boolean;
  /** True: the action runs only after a human approves it out of band (HMAC-signed link). */
  readonly needsApproval: boolean;
  /** Default cooldown per target after the action (HEALER_COOLDOWN_SECONDS overrides all). */
  readonly cooldownSeconds: number;
  /** Changes an object's desired state (a GitOps controller would revert it or report drift). */
  readonly changesDesiredState: boolean;
  /** Sets a replica count (an HPA owns that number where there is one). */
  readonly scales: boolean;
  /** Marks a node unschedulable (draws on the node budget). */
  readonly cordons: boolean;
  /** Takes a pod away: only a pod some controller recreates may be its target (a bare pod would be gone for good). */
  readonly removesPod: boolean;
  /**
   * A restart: pods come back from the same spec. The model may propose a restart on its own
   * judgement; any other action needs the runbook to recognise the same situation and target.
   */
  readonly isRestart: boolean;
  /** Its plan proves a Job stuck against HEALER_JOB_STUCK_SECONDS: policy needs that setting. */
  readonly needsJobStuckSeconds: boolean;
  /** Its parameters: anything else a diagnosis proposes is rejected. */
  readonly parameters: z.ZodMiniType<Readonly<Record<string, number>>>;
  /** How long verification may take before it counts as failed. */
  readonly verifyWithinSeconds: number;
}

/** Bounds for scale-deployment (HEALER_SCALE_*). Both step limits hold; +1 is always within them. */
export interface ScaleBounds {
  /** Never above this many replicas. */
  readonly maxReplicas: number;
  /** Never more than this many replicas added at once. */
  readonly maxStep: number;
  /** Never more than this share (percent) of the current count added at once (rounded down, at least 1). */
  readonly maxStepPercent: number;
}

/** What proves a Job stuck (HEALER_JOB_STUCK_SECONDS): see unprovenStuck in delete-job.ts. */
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

/** What a record's plan gets once the checks common to every action passed (planAction). */
export interface PlanInput {
  readonly diagnosis: Diagnosis;
  readonly evidence: Evidence;
  /** The proposed target as found in the incident's owner chain (its kind is one of spec.targetKinds). */
  readonly inChain: ObjectRef;
  /** Parsed by spec.parameters. */
  readonly parameters: Readonly<Record<string, number>>;
  readonly bounds: ScaleBounds;
  readonly jobLimits: JobLimits;
}

/**
 * Did the action work? The adapter reads the live objects through a record's observe; the
 * record's judge says done, still pending, or failed, so verification can be re-checked later from
 * a delayed queue message instead of a Lambda sleeping.
 */
export interface Observation {
  /** The very object the plan named (same uid) still exists and is not being deleted. */
  readonly targetPresent: boolean;
  /** Replica counts of the workload that verification watches (the Deployment, or the evicted pod's ReplicaSet). */
  readonly replicas?: ReplicaCounts;
  readonly unschedulable?: boolean;
}

export interface ReplicaCounts {
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly available: number;
  /** The controller has seen the latest spec (observedGeneration >= generation). */
  readonly observedLatest: boolean;
}

export type Judgement =
  | { readonly status: 'done'; readonly detail: string }
  | { readonly status: 'pending'; readonly detail: string }
  | { readonly status: 'failed'; readonly detail: string };

/** What a write answered: the object's new resourceVersion where the API returned the object. */
export type Applied = { readonly resourceVersion?: string | undefined };

/** An undo's outcome, before the adapter adds the action and target. */
export interface RevertOutcome {
  readonly ok: boolean;
  readonly detail: string;
  readonly resourceVersion?: string | undefined;
}

/** Present only on an action the healer itself undoes when verification fails. */
export interface Revert {
  /** Pure, for the write gate: why this undo lies outside what the healer changed, or null. */
  readonly outOfBounds: (plan: ActionPlan) => string | null;
  /**
   * The undo, pinned to what the healer set; a refusal the adapter reports, never forces. It reads
   * the object it pins to itself, so the adapter runs it again after a conflict (409).
   */
  readonly apply: (client: ActionClient, plan: ActionPlan, opts: { readonly dryRun: boolean }) => Promise<RevertOutcome>;
}

export interface Action<K extends ActionId = ActionId> {
  readonly spec: ActionSpec<K>;
  /** The write carries the plan's resourceVersion as a precondition (the gate refuses a plan without one). */
  readonly pinnedToVersion: boolean;
  /** Pure: the exact change, or why not. */
  readonly plan: (input: PlanInput) => PlanResult;
  /** Pure: why the live evidence no longer needs the action (the target exists and is not being deleted), or null. */
  readonly stillNeeded: (evidence: Evidence, jobLimits: JobLimits) => string | null;
  /** The Kubernetes write, through the narrow client the writer hands it; dryRun sends it as a server-side dry run. */
  readonly apply: (client: ActionClient, plan: ActionPlan, opts: { readonly dryRun: boolean; readonly nowMs: number }) => Promise<Applied>;
  /** Reads what verification needs; read-only by type. */
  readonly observe: (reads: ActionReads, plan: ActionPlan) => Promise<Observation>;
  /** Pure: done, pending or failed from what was observed (the time limit is applied by judge in verify.ts). */
  readonly judge: (plan: ActionPlan, seen: Observation) => Judgement;
  /** Absent: the healer never undoes this action (a human does, where it can be undone at all). */
  readonly revert?: Revert;
}

export const refuse = (reason: string): PlanResult => ({ ok: false, reason });

export const where = (t: ObjectRef): string => `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;

export function planned(action: ActionId, target: ObjectRef, resourceVersion: string | undefined, parameters: Readonly<Record<string, number>>, summary: string): PlanResult {
  return { ok: true, plan: { action, target, ...(resourceVersion ? { resourceVersion } : {}), parameters, summary } };
}

/** The object the plan named is there: same uid (when the plan knows it), not being deleted. */
export function isPlannedObject(target: ObjectRef, live: { readonly uid?: string | undefined; readonly deleting: boolean } | undefined): boolean {
  return live !== undefined && (target.uid === undefined || live.uid === target.uid) && !live.deleting;
}

export function replicasLine(r: ReplicaCounts): string {
  return `${r.available}/${r.desired} available, ${r.updated} updated, ${r.ready} ready`;
}
