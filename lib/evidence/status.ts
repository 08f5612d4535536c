import type { V1Deployment, V1Job, V1Node, V1PodDisruptionBudget, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { GovernanceEvidence, JobStatusEvidence, NodeCountsEvidence, NodeEvidence, WorkloadStatusEvidence } from '../domain/types.js';
import { isoTime, isReady, type MetaLike } from '../domain/kube-objects.js';
import { gitopsOwner } from './workload.js';

/** The status parts of evidence, from already-read objects: pure (client-node types, type-only import). */

/** The object as the plan pins it. */
const pinOf = (meta: { name?: string; uid?: string; resourceVersion?: string } | undefined) => ({ name: meta?.name ?? '', uid: meta?.uid, resourceVersion: meta?.resourceVersion });

export function workloadStatus(d: V1Deployment, states: Readonly<Record<string, number>>): WorkloadStatusEvidence {
  return {
    kind: 'Deployment',
    ...pinOf(d.metadata),
    desiredReplicas: d.spec?.replicas ?? 1,
    readyReplicas: d.status?.readyReplicas ?? 0,
    availableReplicas: d.status?.availableReplicas ?? 0,
    updatedReplicas: d.status?.updatedReplicas ?? 0,
    generation: d.metadata?.generation,
    observedGeneration: d.status?.observedGeneration,
    paused: d.spec?.paused === true,
    conditions: (d.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
    podStates: states,
  };
}

export function jobStatus(job: V1Job, nowMs: number): JobStatusEvidence {
  const start = job.status?.startTime;
  const startMs = start instanceof Date ? start.getTime() : undefined;
  return {
    ...pinOf(job.metadata),
    active: job.status?.active ?? 0,
    succeeded: job.status?.succeeded ?? 0,
    failed: job.status?.failed ?? 0,
    startTime: isoTime(start),
    runningSeconds: startMs === undefined ? undefined : Math.max(0, Math.round((nowMs - startMs) / 1000)),
    activeDeadlineSeconds: job.spec?.activeDeadlineSeconds,
    backoffLimit: job.spec?.backoffLimit,
    suspended: job.spec?.suspend === true,
    conditions: (job.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => ({ type: c.type, reason: c.reason })),
  };
}

/**
 * When the Job last made progress: the newest finish among its succeeded pods. Known only when
 * every pod was listed, every success among them is there (as many as status.succeeded counts)
 * and each has a finish time; otherwise absent, which never reads as "no recent success".
 */
export function lastSuccess(
  pods: readonly { readonly succeeded: boolean; readonly finishedMs?: number | undefined }[] | undefined,
  succeededCount: number,
  nowMs: number,
): Pick<JobStatusEvidence, 'lastPodSucceededAt' | 'secondsSinceLastPodSucceeded'> {
  if (!pods || succeededCount === 0) return {};
  const successes = pods.filter((p) => p.succeeded);
  if (successes.length < succeededCount) return {};
  const times = successes.map((p) => p.finishedMs);
  if (times.some((t) => t === undefined)) return {};
  const last = Math.max(...(times as number[]));
  return { lastPodSucceededAt: new Date(last).toISOString(), secondsSinceLastPodSucceeded: Math.max(0, Math.round((nowMs - last) / 1000)) };
}

export function nodeEvidenceOf(node: V1Node): NodeEvidence {
  return {
    ...pinOf(node.metadata),
    unschedulable: node.spec?.unschedulable === true,
    conditions: (node.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
  };
}

/** Every node, counted for the cordon budget; the subject node is left out of the two counts of others. */
export function nodeCountsOf(nodes: readonly V1Node[], subject: string): NodeCountsEvidence {
  const others = nodes.filter((n) => n.metadata?.name !== subject);
  return {
    total: nodes.length,
    cordoned: others.filter((n) => n.spec?.unschedulable === true).length,
    schedulableOthers: others.filter((n) => n.spec?.unschedulable !== true && isReady(n)).length,
  };
}

/**
 * Who else governs the workload: the first disruption budget covering the pod, the first
 * autoscaler on its Deployment (both already matched by the reader), GitOps marks on the
 * Deployment or else on the pod.
 */
export function governanceOf(
  pdb: V1PodDisruptionBudget | undefined,
  hpa: V2HorizontalPodAutoscaler | undefined,
  deploymentMeta: MetaLike | undefined,
  podMeta: MetaLike | undefined,
): GovernanceEvidence {
  return {
    pdb: pdb?.metadata?.name
      ? {
          name: pdb.metadata.name,
          disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
          currentHealthy: pdb.status?.currentHealthy ?? 0,
          desiredHealthy: pdb.status?.desiredHealthy ?? 0,
        }
      : undefined,
    hpa: hpa?.metadata?.name
      ? {
          name: hpa.metadata.name,
          minReplicas: hpa.spec?.minReplicas ?? 1,
          maxReplicas: hpa.spec?.maxReplicas ?? 0,
          currentReplicas: hpa.status?.currentReplicas ?? 0,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
        }
      : undefined,
    gitops: gitopsOwner(deploymentMeta) ?? gitopsOwner(podMeta),
  };
}
