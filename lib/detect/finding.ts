import type { ObjectRef, Symptom } from '../domain/types.js';
import type { ClusterSnapshot } from './snapshot.js';

export type FactValue = string | number | boolean;

/** What one detector saw about one object. Plain data: it may be logged, queued and audited as is. */
export interface Finding {
  /** The detector's id (see DETECTORS). */
  readonly detector: string;
  readonly symptom: Symptom;
  /** The object that shows the symptom (a Pod, Deployment, Job or Node). */
  readonly subject: ObjectRef;
  /** The top controller above the subject that is present in the snapshot (Deployment, CronJob, ...). */
  readonly owner?: { readonly kind: string; readonly name: string; readonly uid?: string };
  /** Short and human; built from names and numbers only, never from cluster-written messages. */
  readonly reason: string;
  /** Structured detail; strings are bounded and come from reasons and names, not free text. */
  readonly facts: Readonly<Record<string, FactValue>>;
}

/** Thresholds in seconds. Zero means "as soon as it is seen". */
export interface DetectorSettings {
  /** CrashLoopBackOff counts only from this many restarts. */
  readonly crashLoopMinRestarts: number;
  /** A last termination by OOMKilled older than this, in a container that is Ready again, is history. */
  readonly oomRecentSeconds: number;
  /** desired > 0 and nothing available for this long (the Available=False transition, else creation). */
  readonly deploymentUnavailableSeconds: number;
  /** A Job still running this long after startTime is stuck... */
  readonly jobStuckSeconds: number;
  /** ...and so is one this far past its own spec.activeDeadlineSeconds (the controller should have ended it). */
  readonly jobDeadlineGraceSeconds: number;
  /** Failed Jobs linger (failedJobsHistoryLimit); only failures newer than this are reported. */
  readonly jobFailedRecentSeconds: number;
  /** A pod still present this long after its deletionTimestamp (which already includes the grace period). */
  readonly podTerminatingSeconds: number;
  /** Unschedulable for this long (cluster autoscalers usually add a node within a few minutes). */
  readonly unschedulableSeconds: number;
  /** Ready=False/Unknown for this long (the node controller already waits its monitor grace period). */
  readonly nodeNotReadySeconds: number;
  /** A pressure condition True for this long. */
  readonly nodePressureSeconds: number;
  /** Evicted pods linger until garbage-collected; only evictions newer than this are reported. */
  readonly evictedRecentSeconds: number;
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = Object.freeze({
  crashLoopMinRestarts: 1,
  oomRecentSeconds: 3600,
  deploymentUnavailableSeconds: 300,
  jobStuckSeconds: 6 * 3600,
  jobDeadlineGraceSeconds: 300,
  jobFailedRecentSeconds: 24 * 3600,
  podTerminatingSeconds: 300,
  unschedulableSeconds: 300,
  nodeNotReadySeconds: 180,
  nodePressureSeconds: 0,
  evictedRecentSeconds: 3600,
});

export type Detector = (snapshot: ClusterSnapshot, settings: DetectorSettings, nowMs: number) => Finding[];
