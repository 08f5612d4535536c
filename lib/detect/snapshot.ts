/**
 * One cluster snapshot as the detectors see it: plain, JSON-serialisable subsets of the API
 * objects, holding only the fields some detector reads, so a scan of a large cluster keeps a few
 * hundred bytes per object instead of whole API objects. Timestamps are ISO-8601 strings.
 *
 * Everything is optional beyond names: detectors must cope with partial data (an object read
 * mid-creation, a list the healer was not allowed to read) and never throw on it.
 */

/** ISO-8601, as the API server writes it. */
export type Timestamp = string;

/** The ownerReference with `controller: true`; the only one that matters for owner chains. */
export interface ControllerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
}

export interface ObjectInfo {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly creationTimestamp?: Timestamp;
  readonly controller?: ControllerRef;
}

export interface NamespacedInfo extends ObjectInfo {
  readonly namespace: string;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly lastTransitionTime?: Timestamp;
}

export interface ContainerTermination {
  readonly reason?: string;
  readonly exitCode?: number;
  readonly finishedAt?: Timestamp;
}

export interface ContainerInfo {
  readonly name: string;
  /** An init container (its status comes from initContainerStatuses). */
  readonly init?: boolean;
  readonly image?: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
  readonly waitingReason?: string;
  /** The current state, when the container is terminated (restartPolicy Never/OnFailure pods). */
  readonly terminated?: ContainerTermination;
  /** lastState.terminated: the previous run of a restarted container. */
  readonly lastTerminated?: ContainerTermination;
}

export interface PodInfo extends NamespacedInfo {
  readonly phase?: string;
  /** status.reason, e.g. "Evicted". */
  readonly reason?: string;
  readonly nodeName?: string;
  /** Set by the API server to request time + grace period (the time the pod should be gone by). */
  readonly deletionTimestamp?: Timestamp;
  readonly deletionGracePeriodSeconds?: number;
  readonly finalizers?: readonly string[];
  readonly conditions?: readonly Condition[];
  readonly containers?: readonly ContainerInfo[];
}

export interface DeploymentInfo extends NamespacedInfo {
  /** spec.replicas; the API server defaults it to 1. */
  readonly replicas?: number;
  readonly paused?: boolean;
  readonly availableReplicas?: number;
  readonly readyReplicas?: number;
  readonly updatedReplicas?: number;
  readonly conditions?: readonly Condition[];
}

export type ReplicaSetInfo = NamespacedInfo;

export interface JobInfo extends NamespacedInfo {
  readonly activeDeadlineSeconds?: number;
  readonly suspend?: boolean;
  readonly backoffLimit?: number;
  readonly active?: number;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly startTime?: Timestamp;
  readonly completionTime?: Timestamp;
  readonly conditions?: readonly Condition[];
}

/** A controller that matters only as an owner to group by (CronJob, StatefulSet, DaemonSet, ...). */
export interface WorkloadInfo extends NamespacedInfo {
  readonly kind: string;
}

export interface NodeInfo extends ObjectInfo {
  readonly unschedulable?: boolean;
  readonly conditions?: readonly Condition[];
}

/** Only the events some detector reads (see DETECTOR_EVENT_REASONS); messages are left out. */
export interface EventInfo {
  readonly type?: string;
  readonly reason?: string;
  readonly involvedObject: {
    readonly kind?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
  };
  readonly count?: number;
  readonly firstTimestamp?: Timestamp;
  readonly lastTimestamp?: Timestamp;
}

export interface ClusterSnapshot {
  readonly pods?: readonly PodInfo[];
  readonly deployments?: readonly DeploymentInfo[];
  readonly replicaSets?: readonly ReplicaSetInfo[];
  readonly jobs?: readonly JobInfo[];
  readonly workloads?: readonly WorkloadInfo[];
  readonly nodes?: readonly NodeInfo[];
  readonly events?: readonly EventInfo[];
}
