/**
 * The boundaries between the pipeline and the outside world. Pipeline code depends only on these;
 * adapters/ implement them with real SDKs.
 */
import type { ActionResult, AuditEntry, Diagnosis, Evidence, Incident, Notification, ObjectRef } from '../domain/types.js';
import type { ClusterSnapshot } from '../detect/snapshot.js';

/** A snapshot and what could not be read into it: a list that failed stays undefined there and is named here. */
export interface SnapshotRead {
  readonly snapshot: ClusterSnapshot;
  readonly gaps: readonly string[];
}

export interface ClusterReader {
  /** Reads pod, owners, events and logs of an incident's subject, bounded; never throws for absence. */
  gatherEvidence(incident: Incident): Promise<Evidence>;
  /** The subject's controller chain (subject first), cheaply; undefined when the subject is gone. */
  ownerChainOf(incident: Incident): Promise<readonly ObjectRef[] | undefined>;
  /**
   * Lists what the detectors read, cluster-wide and paginated, keeping only the snapshot's small
   * subsets. Never throws for a list it may not read: that list is a gap and the rest is returned.
   */
  readSnapshot(): Promise<SnapshotRead>;
}

export interface ClusterActor {
  /** Evicts a pod through the Eviction API; a PDB refusal (429) is reported, never forced. */
  evictPod(target: ObjectRef & { namespace: string }, opts: { dryRun: boolean }): Promise<ActionResult>;
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
