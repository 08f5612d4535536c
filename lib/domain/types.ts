/**
 * The healer's vocabulary. Plain data, no behaviour, no SDK types: every step of the pipeline
 * speaks in these terms, and the audit trail stores them as they are.
 */

/**
 * What went wrong, in the healer's own words (alert names and detectors map onto these). One
 * list: the type and the queue message's schema (incident-schema.ts) both come from it.
 */
export const SYMPTOMS = [
  'CrashLoopBackOff',
  'OOMKilled',
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'PodNotReady',
  'DeploymentUnavailable',
  'DeploymentRolloutStuck',
  'JobStuck',
  'JobFailed',
  'PodTerminating',
  'PodUnschedulable',
  'NodeNotReady',
  'NodePressure',
  'PodEvicted',
  'ContainerWaiting',
  'StatefulSetUnavailable',
  'DaemonSetRolloutStuck',
  'HpaMaxedOut',
  'PersistentVolumeFillingUp',
  /** A site alert (mapped by configuration) says a workload is saturated: latency, queue depth. */
  'WorkloadSaturated',
  'Unknown',
] as const;
export type Symptom = (typeof SYMPTOMS)[number];

/** A Kubernetes object reference; namespace is absent for cluster-scoped kinds (Node). */
export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

/** One problem to look at, as it leaves intake (webhook or scan) and enters the queue. */
export interface Incident {
  /** Deterministic from cluster, subject and symptom, so retries and re-sends collapse. */
  readonly id: string;
  readonly cluster: string;
  readonly source: 'alertmanager' | 'scan';
  readonly symptom: Symptom;
  /** The object the alert or detector named (usually a Pod). */
  readonly subject: ObjectRef & { readonly namespace: string };
  readonly alertname?: string;
  readonly severity: string;
  /** Alert labels and annotations are untrusted cluster text; kept for the page, never for decisions. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly detectedAt: string;
}

/** Last termination of a container, as the kubelet reported it. */
export interface Termination {
  readonly reason?: string;
  readonly exitCode?: number;
  readonly signal?: number;
  readonly finishedAt?: string;
}

export interface ContainerEvidence {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly waitingReason?: string;
  readonly lastTermination?: Termination;
  /** Redacted tail of the previous container's log; undefined when it could not be read. */
  readonly previousLogTail?: string;
  readonly currentLogTail?: string;
  readonly logError?: string;
}

export interface EventEvidence {
  /** The object the event is about, "Kind/name" (the pod or one of its owners). */
  readonly object?: string;
  readonly type: string;
  readonly reason: string;
  /** Redacted. */
  readonly message: string;
  readonly count: number;
  readonly lastSeen?: string;
}

/** Requests and limits of one container, as quantities ("250m", "512Mi"). */
export interface ResourceEvidence {
  readonly container: string;
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** One ReplicaSet revision of the Deployment. */
export interface RevisionEvidence {
  readonly name: string;
  readonly revision?: number;
  readonly images: readonly string[];
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly createdAt?: string;
}

/** The Deployment's rollout history around the pod's own revision. */
export interface RolloutEvidence {
  readonly deployment: string;
  /** Newest first, at most a few. */
  readonly revisions: readonly RevisionEvidence[];
  readonly podRevision?: number;
  readonly newestRevision?: number;
  /** What the pod's revision changed against the one before it: images, env names, resources. */
  readonly changes: readonly string[];
}

export interface NodeEvidence {
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly unschedulable: boolean;
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason?: string }[];
}

/** Replica status of a Deployment (or other workload) subject. */
export interface WorkloadStatusEvidence {
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly updatedReplicas: number;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly paused: boolean;
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason?: string }[];
  /** What a sample of its pods show: waiting reasons and last-termination reasons, counted. */
  readonly podStates: Readonly<Record<string, number>>;
}

/** Progress of a Job subject. */
export interface JobStatusEvidence {
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly active: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly startTime?: string;
  /** Seconds since startTime when the evidence was gathered. */
  readonly runningSeconds?: number;
  readonly activeDeadlineSeconds?: number;
  /**
   * When the newest of its succeeded pods finished, among every pod of the Job read; absent when
   * none succeeded, or when its pods could not all be read (then progress is unknown).
   */
  readonly lastPodSucceededAt?: string;
  /** Seconds from lastPodSucceededAt to when the evidence was gathered. */
  readonly secondsSinceLastPodSucceeded?: number;
  readonly backoffLimit?: number;
  readonly suspended: boolean;
  /** Complete / Failed / ... conditions that are True, with their reasons. */
  readonly conditions: readonly { readonly type: string; readonly reason?: string }[];
}

/** The cluster's nodes, counted for the cordon budget (the subject node excluded where named so). */
export interface NodeCountsEvidence {
  readonly total: number;
  /** Nodes other than the subject that are already cordoned. */
  readonly cordoned: number;
  /** Nodes other than the subject that are Ready and schedulable. */
  readonly schedulableOthers: number;
}

/** Who else governs the target: disruption budgets, autoscalers, GitOps controllers. */
export interface GovernanceEvidence {
  readonly pdb?: { readonly name: string; readonly disruptionsAllowed: number; readonly currentHealthy: number; readonly desiredHealthy: number };
  readonly hpa?: { readonly name: string; readonly minReplicas: number; readonly maxReplicas: number; readonly currentReplicas: number; readonly desiredReplicas: number };
  /** "argocd" or "flux" when the workload carries that controller's tracking labels/annotations. */
  readonly gitops?: 'argocd' | 'flux';
}

/** What the worker learned about an incident from the live cluster, bounded and redacted. */
export interface Evidence {
  readonly subject: ObjectRef & { readonly namespace: string };
  /** False when the subject no longer exists. */
  readonly exists: boolean;
  readonly resourceVersion?: string;
  readonly phase?: string;
  readonly podReady?: boolean;
  readonly deleting?: boolean;
  readonly nodeName?: string;
  /**
   * Subject first, then each controller owner up the chain (Pod, ReplicaSet, Deployment; Pod, Job,
   * CronJob; Pod, StatefulSet), each named even when it could not be read. Its last entry is the
   * workload: the key of cooldowns and of the circuit breaker.
   */
  readonly ownerChain: readonly ObjectRef[];
  /**
   * Every controller owner up the chain was read: each of a kind the healer reads, each read
   * succeeded, within the depth bound. Only then are the opt-outs up the chain and the workload
   * known; policy (owner-chain-complete) denies otherwise. False when the subject is gone.
   */
  readonly ownerChainComplete: boolean;
  readonly containers: readonly ContainerEvidence[];
  readonly events: readonly EventEvidence[];
  readonly resources?: readonly ResourceEvidence[];
  readonly rollout?: RolloutEvidence;
  readonly node?: NodeEvidence;
  readonly governance?: GovernanceEvidence;
  /** For a Deployment subject. */
  readonly workload?: WorkloadStatusEvidence;
  /** For a Job subject. */
  readonly job?: JobStatusEvidence;
  /** For a Node subject. */
  readonly nodeCounts?: NodeCountsEvidence;
  /** The subject or any owner read up its chain opted out (annotation or label, or on a pod template). */
  readonly optOut: boolean;
  readonly namespaceOptOut: boolean;
  readonly gatheredAt: string;
  /** Anything that could not be read, so the diagnosis and the page can say so. */
  readonly gaps: readonly string[];
}

/** Actions the healer may ever take, plus the two non-actions. Closed list. */
export const ACTION_IDS = ['evict-pod', 'rollout-restart', 'scale-deployment', 'delete-job', 'cordon-node'] as const;
export type ActionId = (typeof ACTION_IDS)[number];
export type Recommendation = ActionId | 'page' | 'none';

export type DiagnosisCategory =
  | 'transient-crash'
  | 'bad-release'
  | 'oom'
  | 'image-pull'
  | 'config-error'
  | 'already-healthy'
  | 'unknown';

/** A diagnoser's proposal. Code validates every field before policy sees it. */
export interface Diagnosis {
  readonly diagnoser: 'runbook' | 'claude';
  readonly summary: string;
  readonly rootCause: string;
  readonly category: DiagnosisCategory;
  readonly confidence: number;
  readonly restartCanHelp: boolean;
  readonly recommendation: Recommendation;
  readonly target?: ObjectRef;
  /** The action's parameters (scale-deployment: replicas), validated by that action's own schema. */
  readonly parameters?: Readonly<Record<string, number>>;
  readonly evidenceCited: readonly string[];
  /** Why a model diagnosis was replaced, when it was (off-schema, failure, no key). */
  readonly fallbackReason?: string;
  /**
   * Instruction-like passages in the cluster text the model read through its look-ups (the
   * evidence's own are found by the pipeline): policy refuses every action on either.
   */
  readonly injectionMarkers?: readonly string[];
  /** What the model diagnosis spent, summed over every step of its investigation. */
  readonly usage?: {
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly cacheReadTokens?: number;
    readonly cacheWriteTokens?: number;
    /** Requests sent to the model, retries and refused attempts included. */
    readonly requests?: number;
    /** Answered requests: the investigation's rounds, the one that ended it included. */
    readonly steps?: number;
    /** List-price USD of the tokens above; absent (not 0) when the model has no price on file. */
    readonly costUsd?: number;
    /** "sha256:<hex>" over every request body sent to the model, in order (redacted text only). */
    readonly requestDigest?: string;
    /** The investigation's look-ups, "tool {input}: read | not read | read failed" (redacted, at most 20). */
    readonly lookups?: readonly string[];
  };
  /** The model that answered (or was asked, when its answer was replaced). */
  readonly model?: string;
}

/** The outcome of the policy: allowed only when every rule passed. */
export interface Decision {
  readonly allowed: boolean;
  /** Every rule's verdict in order; a denial's reason is the first non-null. */
  readonly verdicts: readonly { readonly rule: string; readonly reason: string | null }[];
  readonly deniedBy?: string;
  readonly reason?: string;
  /** Allowed by policy but not executed because the healer runs dry. */
  readonly dryRun: boolean;
  /** Allowed, but the action needs a human's out-of-band approval before it runs. */
  readonly approvalRequired?: boolean;
}

export type Outcome =
  | 'acted'
  | 'dry-run'
  | 'paged'
  | 'no-action'
  | 'already-healthy'
  | 'duplicate'
  | 'action-failed'
  | 'awaiting-approval';

export interface ActionResult {
  readonly action: ActionId;
  readonly target: ObjectRef;
  readonly ok: boolean;
  readonly detail: string;
  /** True once verification saw the intended outcome; false when it failed; absent while unknown. */
  readonly verified?: boolean;
  /** The object's resourceVersion after the change, when the API returned one. */
  readonly resourceVersion?: string;
}

/** One append-only record of what the healer saw, thought, decided and did. */
export interface AuditEntry {
  readonly incidentId: string;
  readonly at: string;
  readonly cluster: string;
  readonly step: 'intake' | 'evidence' | 'diagnosis' | 'decision' | 'action' | 'verification' | 'approval' | 'notification' | 'outcome';
  readonly outcome?: Outcome;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Notification {
  readonly subject: string;
  readonly body: string;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly outcome: Outcome;
  readonly cluster: string;
  readonly namespace: string;
  /**
   * The incident the message is about. A follow-up carries the same id, so a resolve closes the
   * page it follows (PagerDuty's dedup_key, Chatbot's threadId). Absent only when no id could be
   * read (a dead letter that is not a healer message).
   */
  readonly incidentId?: string;
  /** `resolve` only when the incident ended healthy and verification said so; otherwise `trigger`. */
  readonly eventAction?: 'trigger' | 'resolve';
  /** The allowlisted action the message is about (done, tried, or waiting for approval). */
  readonly action?: ActionId;
  /** The alert's `runbook_url` annotation as it came (untrusted: checked where pages leave). */
  readonly runbookUrl?: string;
  /** The signed approval link, when the message asks for one (also the first line of the body). */
  readonly approvalUrl?: string;
}
