import type { ObjectRef } from '../domain/types.js';
import type { ReplicaCounts } from './action.js';

/**
 * The narrow Kubernetes ports an action record is written against, implemented once by
 * lib/adapters/kubernetes-actions.ts. Writes (ActionClient) reach a record only through the
 * writer the write gate alone holds; observing gets ActionReads, which cannot write. A refusal
 * by the API (403, 404, 409, 422, a disruption budget's 429) is thrown here and turned into a
 * result by the adapter; `dryRun` sends the request as a server-side dry run (dryRun=All).
 */

/** A JSON merge patch body; a resourceVersion/uid in its metadata is an optimistic-concurrency precondition. */
export type MergePatch = Readonly<Record<string, unknown>>;

export interface ScaleState {
  readonly uid?: string | undefined;
  readonly replicas?: number | undefined;
  readonly resourceVersion?: string | undefined;
}

export interface ActionClient {
  /** The Eviction API (PodDisruptionBudgets hold), with a uid precondition when the ref has one. */
  evictPod(pod: ObjectRef, dryRun: boolean): Promise<void>;
  /** Merge patch of a Deployment; answers its new resourceVersion. */
  patchDeployment(deployment: ObjectRef, patch: MergePatch, dryRun: boolean): Promise<string | undefined>;
  /** Merge patch of a Node; answers its new resourceVersion. */
  patchNode(node: ObjectRef, patch: MergePatch, dryRun: boolean): Promise<string | undefined>;
  /** The Deployment's scale subresource as it is now. */
  readDeploymentScale(deployment: ObjectRef): Promise<ScaleState>;
  /** Replaces the scale subresource, pinned to `resourceVersion` and the ref's uid; answers the new resourceVersion. */
  replaceDeploymentScale(deployment: ObjectRef, replicas: number, resourceVersion: string | undefined, dryRun: boolean): Promise<string | undefined>;
  /** Deletes a Job with background propagation (the garbage collector removes its pods), uid precondition. */
  deleteJob(job: ObjectRef, dryRun: boolean): Promise<void>;
}

/** An object as verification sees it: undefined from a read means it is absent (404). */
export interface LiveObject {
  readonly uid?: string | undefined;
  /** deletionTimestamp is set. */
  readonly deleting: boolean;
}

export interface LivePod extends LiveObject {
  readonly ownerUids: readonly string[];
  /** Its Ready condition is True. */
  readonly ready: boolean;
}

export interface ActionReads {
  readPod(pod: ObjectRef): Promise<LiveObject | undefined>;
  readJob(job: ObjectRef): Promise<LiveObject | undefined>;
  readNode(node: ObjectRef): Promise<(LiveObject & { readonly unschedulable: boolean }) | undefined>;
  /** Replica counts from the Deployment's spec and status (desired defaults to 1, as the API does). */
  readDeployment(deployment: ObjectRef): Promise<(LiveObject & { readonly replicas: ReplicaCounts }) | undefined>;
  readReplicaSet(replicaSet: ObjectRef): Promise<(LiveObject & { readonly desired: number; readonly matchLabels: Readonly<Record<string, string>> }) | undefined>;
  /** Pods in a namespace matching equality labels (at most one page of 500); none for an empty selector. */
  listPods(namespace: string, matchLabels: Readonly<Record<string, string>>): Promise<readonly LivePod[]>;
}
