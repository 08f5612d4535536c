/**
 * The boundaries between the pipeline and the outside world. Pipeline code depends only on these;
 * adapters/ implement them with real SDKs.
 */
import type { ActionResult, AuditEntry, Diagnosis, Evidence, Incident, Notification, ObjectRef } from '../domain/types.js';
import type { ClusterSnapshot } from '../detect/snapshot.js';
import type { ActionPlan } from '../actions/plan.js';
import type { Observation } from '../actions/verify.js';
import type { VerificationRequest } from '../domain/verification-schema.js';

/** A snapshot and what could not be read into it: a list that failed stays undefined there and is named here. */
export interface SnapshotRead {
  readonly snapshot: ClusterSnapshot;
  readonly gaps: readonly string[];
}

/**
 * Where an incident's subject sits, from metadata alone: enough to leave protected and opted-out
 * places alone before any log or event is read (or sent anywhere).
 */
export interface Placement {
  /** The subject, then each controller owner up the chain (named even when it could not be read). */
  readonly chain: readonly ObjectRef[];
  /** The subject or an owner read opted out (annotation or label, on it or its pod template). */
  readonly optOut: boolean;
  /** The namespace opted out, or could not be read (then a gap says so). False for cluster-scoped subjects. */
  readonly namespaceOptOut: boolean;
  /**
   * Every controller owner up the chain was read. When false, whether something above opted out
   * is unknown, whatever `optOut` says: treat the place as off limits.
   */
  readonly complete: boolean;
  /** What could not be read, for the audit and the page. */
  readonly gaps: readonly string[];
}

export interface ClusterReader {
  /**
   * Reads pod, owners, events and logs of an incident's subject, bounded; never throws for absence.
   * `known.placement`, a placement this reader has just returned for the same subject, may spare
   * reading the subject, its owners and namespace again (once). Pass it only when that placement
   * is as fresh as the evidence must be: never for a re-read that must be live. `known.earlier`
   * makes it a live re-read of the facts (objects, lists, statuses all read again) that keeps the
   * earlier evidence's cluster text (events, log tails), which no rule or plan reads.
   */
  gatherEvidence(incident: Incident, known?: { readonly placement?: Placement | undefined; readonly earlier?: Evidence | undefined }): Promise<Evidence>;
  /** A Pod subject's controller chain (the pod first), cheaply; undefined for other subjects and when the pod is gone. */
  ownerChainOf(incident: Incident): Promise<readonly ObjectRef[] | undefined>;
  /**
   * The subject's placement, for every subject kind: reads only the subject, its controller owners
   * and its namespace (no logs, events or lists): what the healer must know before any cluster text
   * is read or any write is made. Undefined when the subject is gone; throws when
   * the subject itself could not be read. A kind the healer does not read gives its subject alone,
   * incomplete.
   */
  placementOf(incident: Incident): Promise<Placement | undefined>;
  /**
   * Lists what the detectors read, cluster-wide and paginated, keeping only the snapshot's small
   * subsets. Never throws for a list it may not read: that list is a gap and the rest is returned.
   */
  readSnapshot(): Promise<SnapshotRead>;
}

/**
 * The only way to change the cluster. Implemented by the Kubernetes adapter and called only by
 * the write gate (lib/pipeline/write-gate.ts), which checks every write first.
 */
export interface ClusterWriter {
  /**
   * Carries out a plan: always a server-side dry run first, then (unless dryRun) the change itself,
   * pinned to the plan's uid/resourceVersion. Never throws for a refusal (PDB 429, 409 conflict,
   * 403): that is a result with ok=false. Throws only when the cluster could not be reached.
   */
  execute(plan: ActionPlan, opts: { dryRun: boolean }): Promise<ActionResult>;
  /**
   * Undoes a reversible action when the object still shows exactly our change; else says why not.
   * With dryRun, only the server-side dry run of the undo is made.
   */
  revert(plan: ActionPlan, opts: { dryRun: boolean }): Promise<ActionResult>;
}

/** What verification reads about a plan's target; never writes. */
export interface ClusterObserver {
  observe(plan: ActionPlan): Promise<Observation>;
}

export interface StateStore {
  /** True when this call recorded the incident as new within the dedup window (conditional write). */
  recordIfNew(incidentId: string, windowSeconds: number, nowMs: number): Promise<boolean>;
  /** Removes the dedup mark again (used when enqueueing failed, so a retry is not a "duplicate"). */
  forgetIncident(incidentId: string): Promise<void>;
  /** Takes the processing lock for an incident; false when another worker holds it or it is done. */
  claimIncident(incidentId: string, leaseSeconds: number, nowMs: number): Promise<boolean>;
  /** Marks the incident done so redeliveries of its message are no-ops until the window ends. */
  completeIncident(incidentId: string, keepSeconds: number, nowMs: number): Promise<void>;
  /** Releases the lock after a failure, so a retry may take it. */
  releaseIncident(incidentId: string): Promise<void>;
  /** How a claim on this id stands now: held by someone ('locked'), finished ('done'), or neither. */
  claimState(incidentId: string, nowMs: number): Promise<'locked' | 'done' | 'free'>;
  /**
   * Makes this incident the one that handles an owner (workload + symptom) for the window, so a
   * storm of pods of one Deployment becomes one diagnosis. Re-claiming by the same incident
   * succeeds; otherwise the current holder is returned.
   */
  claimOwner(ownerKey: string, incidentId: string, windowSeconds: number, nowMs: number): Promise<{ claimed: boolean; holder: string }>;
  /** Epoch ms until which the key is cooling down, or undefined. */
  cooldownUntil(key: string, nowMs: number): Promise<number | undefined>;
  /** Starts a cooldown; false when one was already active (someone else acted first). */
  startCooldown(key: string, seconds: number, nowMs: number): Promise<boolean>;
  /**
   * Actions recorded under each scope in the current fixed window of `windowSeconds` (windows
   * are aligned to the epoch); 0 for a scope with none. Throws rather than guessing.
   */
  countActions(scopeKeys: readonly string[], windowSeconds: number, nowMs: number): Promise<Record<string, number>>;
  /**
   * Counts one action under every scope in the current window, atomically and only if each scope
   * stays within its limit (at most `limits[scope]` per window); false when any would pass it,
   * and then nothing is counted. Every scope needs a limit. Of racing callers, at most the limit win.
   */
  recordAction(scopeKeys: readonly string[], limits: Readonly<Record<string, number>>, windowSeconds: number, nowMs: number): Promise<boolean>;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  listForIncident(incidentId: string): Promise<AuditEntry[]>;
}

export interface IncidentQueue {
  enqueue(incidents: readonly Incident[]): Promise<void>;
}

/** Sends a verification re-check to the worker's queue, delivered after a delay (SQS DelaySeconds, at most 900). */
export interface VerificationScheduler {
  scheduleVerification(request: VerificationRequest, delaySeconds: number): Promise<void>;
}

/** What the healer did for an incident, kept where only the healer writes: the queue carries just the id. */
export interface ActedRecord {
  /** Random, made when the action was taken; the verification message names it. */
  readonly actionId: string;
  readonly incident: Incident;
  readonly plan: ActionPlan;
  /** When the action was accepted (ISO): verification judges elapsed time from here. */
  readonly actedAt: string;
}

export interface ActionRecords {
  /** Keeps the record for `keepSeconds`; never overwrites one with the same ids. */
  put(record: ActedRecord, keepSeconds: number, nowMs: number): Promise<void>;
  /** The record, or undefined when there is none (never acted, forged ids, or expired). Throws when it cannot tell. */
  get(incidentId: string, actionId: string): Promise<ActedRecord | undefined>;
}

/** A request for a human's approval of one exact plan, as stored until it is used or expires. */
export interface ApprovalRecord {
  readonly id: string;
  readonly incident: Incident;
  readonly diagnosis: Diagnosis;
  readonly plan: ActionPlan;
  readonly digest: string;
  readonly requestedAtMs: number;
  readonly expiresAtMs: number;
  readonly status: 'pending' | 'used';
  readonly usedBy?: Readonly<Record<string, string>>;
  readonly usedAtMs?: number;
}

export interface ApprovalStore {
  /** Stores a new pending approval; never overwrites one with the same id. */
  create(record: Omit<ApprovalRecord, 'status'>): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Marks it used, atomically and only if it is still pending and unexpired: of any number of
   * concurrent or replayed uses, exactly one gets true.
   */
  consume(id: string, usedBy: Readonly<Record<string, string>>, nowMs: number): Promise<boolean>;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

/** Per-call bounds for a diagnosis; the caller knows how much of its Lambda time is left. */
export interface DiagnoseOptions {
  /** Epoch ms by which the diagnosis must be done, retries and backoff included. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface Diagnoser {
  diagnose(incident: Incident, evidence: Evidence, options?: DiagnoseOptions): Promise<Diagnosis>;
}

/**
 * The operators' global stop, flippable without a deploy (an SSM parameter in AWS). Read right
 * before each decision; a read that fails must throw, and the pipeline then treats it as engaged.
 */
export interface KillSwitch {
  engaged(): Promise<boolean>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
