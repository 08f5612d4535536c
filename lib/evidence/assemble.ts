import type { V1Deployment, V1Job, V1Node, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type { ContainerEvidence, EventEvidence, Evidence, GovernanceEvidence, Incident, NodeCountsEvidence, RolloutEvidence, NodeEvidence } from '../domain/types.js';
import type { Placement } from '../ports/index.js';
import { isReady } from '../domain/kube-objects.js';
import { newestFirst } from './events.js';
import { optedOut, workloadOptedOut } from './opt-out.js';
import type { OwnerWalk } from './owner-walk.js';
import { podStates, resourcesOf } from './pods.js';
import { jobStatus, lastSuccess, nodeEvidenceOf, workloadStatus } from './status.js';
import { gitopsOwner } from './workload.js';

/**
 * Evidence per subject kind, assembled from what the reader already read: pure, so each kind's
 * rules (what counts as opted out, which events are kept, what the workload status says) are
 * tested without a cluster. The reader (lib/adapters/kubernetes.ts) decides nothing here.
 */

/** The subject is gone (404): nothing to act on, nothing opted out. */
export function absentEvidence(incident: Incident, gatheredAt: string): Evidence {
  return { subject: incident.subject, exists: false, ownerChain: [], ownerChainComplete: false, containers: [], events: [], optOut: false, namespaceOptOut: false, gatheredAt, gaps: [] };
}

/**
 * Other kinds (StatefulSet, DaemonSet, CronJob, HPA, PVC) page: their place (owners, opt-out)
 * where the healer can read it; say what was not read, never guess "gone".
 */
export function placementEvidence(incident: Incident, placement: Placement, gatheredAt: string): Evidence {
  return {
    subject: incident.subject,
    exists: true,
    ownerChain: placement.chain,
    ownerChainComplete: placement.complete,
    containers: [],
    events: [],
    optOut: placement.optOut,
    namespaceOptOut: placement.namespaceOptOut,
    gatheredAt,
    gaps: [...placement.gaps, `evidence for ${incident.subject.kind} incidents is not gathered yet`],
  };
}

interface Common {
  readonly incident: Incident;
  readonly gatheredAt: string;
  /** Everything the reads could not read, in the order they failed. */
  readonly gaps: string[];
}

/** What every kind's evidence says the same way: the subject as read, its owner chain, when, what was missing. */
function subjectPart(r: Common, object: { readonly metadata?: V1ObjectMeta }, owners: OwnerWalk, namespaceOptOut: boolean) {
  const { kind, name, namespace } = r.incident.subject;
  return {
    subject: r.incident.subject,
    exists: true,
    resourceVersion: object.metadata?.resourceVersion,
    deleting: object.metadata?.deletionTimestamp !== undefined,
    ownerChain: [{ kind, name, ...(namespace ? { namespace } : {}), uid: object.metadata?.uid }, ...owners.refs],
    ownerChainComplete: owners.complete,
    namespaceOptOut,
    gatheredAt: r.gatheredAt,
    gaps: r.gaps,
  };
}

export interface PodRead extends Common {
  readonly pod: V1Pod;
  readonly owners: OwnerWalk;
  /** The pod's events and its owners' events, each list newest first. */
  readonly events: readonly EventEvidence[];
  readonly namespaceOptOut: boolean;
  readonly containers: readonly ContainerEvidence[];
  readonly rollout: RolloutEvidence | undefined;
  readonly node: NodeEvidence | undefined;
  readonly governance: GovernanceEvidence;
  readonly deployment: V1Deployment | undefined;
  readonly eventsLimit: number;
}

export function podEvidence(r: PodRead): Evidence {
  const { pod, owners } = r;
  return {
    ...subjectPart(r, pod, owners, r.namespaceOptOut),
    phase: pod.status?.phase,
    podReady: isReady(pod),
    nodeName: pod.spec?.nodeName,
    containers: r.containers,
    events: newestFirst(r.events).slice(0, r.eventsLimit),
    resources: resourcesOf(pod),
    rollout: r.rollout,
    node: r.node,
    governance: r.governance,
    ...(r.deployment ? { workload: workloadStatus(r.deployment, {}) } : {}),
    optOut: optedOut(pod.metadata) || owners.optOut,
  };
}

export interface DeploymentRead extends Common {
  readonly deployment: V1Deployment;
  /** Its pods as sampled (ReplicaSet-owned ones), and the worst of them, read whole. */
  readonly pods: readonly V1Pod[];
  readonly worst: V1Pod | undefined;
  readonly above: OwnerWalk;
  readonly events: readonly EventEvidence[];
  readonly namespaceOptOut: boolean;
  readonly containers: readonly ContainerEvidence[];
  readonly rollout: RolloutEvidence | undefined;
  readonly governance: GovernanceEvidence;
}

/** A Deployment subject: its replica status, its pods' states counted, the worst pod's containers, its rollout. */
export function deploymentEvidence(r: DeploymentRead): Evidence {
  const { deployment } = r;
  return {
    ...subjectPart(r, deployment, r.above, r.namespaceOptOut),
    containers: r.containers,
    events: r.events,
    resources: r.worst ? resourcesOf(r.worst) : undefined,
    rollout: r.rollout,
    governance: r.governance,
    workload: workloadStatus(deployment, podStates(r.pods)),
    optOut: workloadOptedOut('Deployment', deployment) || r.above.optOut,
  };
}

export interface JobRead extends Common {
  readonly job: V1Job;
  /** Every pod of the Job as listed (success and finish time), or undefined when the list failed. */
  readonly pods: readonly { readonly succeeded: boolean; readonly finishedMs?: number | undefined }[] | undefined;
  readonly above: OwnerWalk;
  readonly events: readonly EventEvidence[];
  readonly namespaceOptOut: boolean;
  readonly containers: readonly ContainerEvidence[];
  readonly nowMs: number;
}

/** A Job subject: its progress and last success, its CronJob, the newest pod's containers. */
export function jobEvidence(r: JobRead): Evidence {
  const { job } = r;
  return {
    ...subjectPart(r, job, r.above, r.namespaceOptOut),
    containers: r.containers,
    events: r.events,
    governance: { gitops: gitopsOwner(job.metadata) },
    job: { ...jobStatus(job, r.nowMs), ...lastSuccess(r.pods, job.status?.succeeded ?? 0, r.nowMs) },
    optOut: workloadOptedOut('Job', job) || r.above.optOut,
  };
}

export interface NodeRead extends Common {
  readonly node: V1Node;
  readonly above: OwnerWalk;
  readonly events: readonly EventEvidence[];
  readonly nodeCounts: NodeCountsEvidence | undefined;
}

/** A Node subject: its conditions, how many nodes there are and how many are schedulable, events. */
export function nodeEvidence(r: NodeRead): Evidence {
  const { node } = r;
  return {
    ...subjectPart(r, node, r.above, false),
    containers: [],
    events: r.events,
    node: nodeEvidenceOf(node),
    ...(r.nodeCounts ? { nodeCounts: r.nodeCounts } : {}),
    optOut: optedOut(node.metadata) || r.above.optOut,
  };
}
