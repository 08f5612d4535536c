import type { EventEvidence, ObjectRef, RolloutEvidence } from '../domain/types.js';

/**
 * Read-only look-ups the model may ask for during a diagnosis (lib/diagnose/investigation.ts),
 * after the evidence step's first pass. An implementation reads what it is asked for and nothing
 * else: deciding WHAT may be read (only the incident's owner chain and the pod's node), redacting
 * and bounding the answer is the caller's job, done before anything reaches the model.
 *
 * Every method throws when the read fails (not found, forbidden, unreachable); the caller turns
 * that into a message for the model.
 */

export type NamespacedRef = ObjectRef & { readonly namespace: string };

export interface PodLogRequest {
  readonly container: string;
  /** The log of the previous (terminated) container instead of the running one. */
  readonly previous: boolean;
  readonly tailLines: number;
  /** Upper bound on what is read from the API server; the caller cuts the answer again. */
  readonly limitBytes: number;
}

/** A compact, JSON-shaped summary of one object: what `kubectl describe` would show, minus the noise. */
export type ObjectSummary = Readonly<Record<string, unknown>>;

export interface Investigator {
  /** The tail of one container's log of a pod. */
  podLog(pod: NamespacedRef, request: PodLogRequest): Promise<string>;
  /** Events about one object (a namespaced object, or a Node), newest first, at most `limit`. */
  events(object: ObjectRef, limit: number): Promise<readonly EventEvidence[]>;
  /** A compact summary of one object of a kind the healer may read (Pod, ReplicaSet, Deployment, Job, ...). */
  describe(object: ObjectRef): Promise<ObjectSummary>;
  /** The Deployment's revisions and what the pod's revision changed against the one before. */
  rollout(deployment: NamespacedRef, podReplicaSet: string): Promise<RolloutEvidence>;
  /** A compact summary of a Node: conditions, taints, capacity, kubelet version. */
  node(name: string): Promise<ObjectSummary>;
}
