import type { V1Deployment, V1Job, V1Node, V1Pod } from '@kubernetes/client-node';
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
  const { pod, owners, incident } = r;
  const { name, namespace } = incident.subject;
  return {
    subject: incident.subject,
    exists: true,
    resourceVersion: pod.metadata?.resourceVersion,
    phase: pod.status?.phase,
    podReady: isReady(pod),
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    nodeName: pod.spec?.nodeName,
    ownerChain: [{ kind: 'Pod', name, namespace, uid: pod.metadata?.uid }, ...owners.refs],
    ownerChainComplete: owners.complete,
    containers: r.containers,
    events: newestFirst(r.events).slice(0, r.eventsLimit),
    resources: resourcesOf(pod),
    rollout: r.rollout,
    node: r.node,
    governance: r.governance,
    ...(r.deployment ? { workload: workloadStatus(r.deployment, {}) } : {}),
    optOut: optedOut(pod.metadata) || owners.optOut,
    namespaceOptOut: r.namespaceOptOut,
    gatheredAt: r.gatheredAt,
    gaps: r.gaps,
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
  const { deployment, incident } = r;
  const { name, namespace } = incident.subject;
  return {
    subject: incident.subject,
    exists: true,
    resourceVersion: deployment.metadata?.resourceVersion,
    deleting: deployment.metadata?.deletionTimestamp !== undefined,
    ownerChain: [{ kind: 'Deployment', name, namespace, uid: deployment.metadata?.uid }, ...r.above.refs],
    ownerChainComplete: r.above.complete,
    containers: r.containers,
    events: r.events,
    resources: r.worst ? resourcesOf(r.worst) : undefined,
    rollout: r.rollout,
    governance: r.governance,
    workload: workloadStatus(deployment, podStates(r.pods)),
    optOut: workloadOptedOut('Deployment', deployment) || r.above.optOut,
    namespaceOptOut: r.namespaceOptOut,
    gatheredAt: r.gatheredAt,
    gaps: r.gaps,
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
  const { job, incident } = r;
  const { name, namespace } = incident.subject;
  return {
    subject: incident.subject,
    exists: true,
    resourceVersion: job.metadata?.resourceVersion,
    deleting: job.metadata?.deletionTimestamp !== undefined,
    ownerChain: [{ kind: 'Job', name, namespace, uid: job.metadata?.uid }, ...r.above.refs],
    ownerChainComplete: r.above.complete,
    containers: r.containers,
    events: r.events,
    governance: { gitops: gitopsOwner(job.metadata) },
    job: { ...jobStatus(job, r.nowMs), ...lastSuccess(r.pods, job.status?.succeeded ?? 0, r.nowMs) },
    optOut: workloadOptedOut('Job', job) || r.above.optOut,
    namespaceOptOut: r.namespaceOptOut,
    gatheredAt: r.gatheredAt,
    gaps: r.gaps,
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
  const { node, incident } = r;
  return {
    subject: incident.subject,
    exists: true,
    resourceVersion: node.metadata?.resourceVersion,
    deleting: node.metadata?.deletionTimestamp !== undefined,
    ownerChain: [{ kind: 'Node', name: incident.subject.name, uid: node.metadata?.uid }, ...r.above.refs],
    ownerChainComplete: r.above.complete,
    containers: [],
    events: r.events,
    node: nodeEvidenceOf(node),
    ...(r.nodeCounts ? { nodeCounts: r.nodeCounts } : {}),
    optOut: optedOut(node.metadata) || r.above.optOut,
    namespaceOptOut: false,
    gatheredAt: r.gatheredAt,
    gaps: r.gaps,
  };
}
