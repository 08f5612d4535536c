/**
 * Maps @kubernetes/client-node objects to the snapshot's plain subsets. Types only: nothing of the
 * SDK is loaded here. Map each list page as it arrives and drop the page, so a scan of a large
 * cluster holds the small subsets, never whole API objects.
 */
import type {
  CoreV1Event,
  V1ContainerState,
  V1ContainerStatus,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { controllerOf, eventCount, eventTimes, isoTime as iso } from '../domain/kube-objects.js';
import { DETECTOR_EVENT_REASONS } from './detectors.js';
import type {
  ClusterSnapshot,
  Condition,
  ContainerInfo,
  ContainerTermination,
  DeploymentInfo,
  EventInfo,
  JobInfo,
  NodeInfo,
  ObjectInfo,
  PodInfo,
  ReplicaSetInfo,
  WorkloadInfo,
} from './snapshot.js';

const MAX_FINALIZERS = 5;

/**
 * A copy without the undefined values. Copied, not `delete`d: a delete turns a V8 object into a
 * slow dictionary, about 3.5 times the heap per pod (3.7 KB instead of 1.0 KB, BENCHMARKS.md).
 */
function defined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}

function objectInfo(meta: V1ObjectMeta | undefined): ObjectInfo | undefined {
  if (!meta?.name) return undefined;
  const controller = controllerOf(meta);
  return defined({
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    creationTimestamp: iso(meta.creationTimestamp),
    controller: controller ? defined({ kind: controller.kind, name: controller.name, uid: controller.uid }) : undefined,
  });
}

function namespaced(meta: V1ObjectMeta | undefined): (ObjectInfo & { namespace: string }) | undefined {
  const info = objectInfo(meta);
  return info?.namespace ? { ...info, namespace: info.namespace } : undefined;
}

function conditions(list: readonly { type: string; status: string; reason?: string; lastTransitionTime?: Date }[] | undefined): Condition[] | undefined {
  return list?.map((c) => defined({ type: c.type, status: c.status, reason: c.reason, lastTransitionTime: iso(c.lastTransitionTime) }));
}

function terminated(state: V1ContainerState | undefined): ContainerTermination | undefined {
  const t = state?.terminated;
  return t ? defined({ reason: t.reason, exitCode: t.exitCode, finishedAt: iso(t.finishedAt) }) : undefined;
}

function container(status: V1ContainerStatus, init: boolean): ContainerInfo {
  return defined({
    name: status.name,
    init: init || undefined,
    image: status.image,
    ready: status.ready,
    restartCount: status.restartCount,
    waitingReason: status.state?.waiting?.reason,
    terminated: terminated(status.state),
    lastTerminated: terminated(status.lastState),
  });
}

export function toPodInfo(pod: V1Pod): PodInfo | undefined {
  const info = namespaced(pod.metadata);
  if (!info) return undefined;
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []).map((s) => container(s, true)),
    ...(pod.status?.containerStatuses ?? []).map((s) => container(s, false)),
  ];
  return defined({
    ...info,
    phase: pod.status?.phase,
    reason: pod.status?.reason,
    nodeName: pod.spec?.nodeName,
    deletionTimestamp: iso(pod.metadata?.deletionTimestamp),
    deletionGracePeriodSeconds: pod.metadata?.deletionGracePeriodSeconds,
    finalizers: pod.metadata?.finalizers?.slice(0, MAX_FINALIZERS),
    conditions: conditions(pod.status?.conditions),
    containers: statuses.length > 0 ? statuses : undefined,
  });
}

export function toDeploymentInfo(deployment: V1Deployment): DeploymentInfo | undefined {
  const info = namespaced(deployment.metadata);
  if (!info) return undefined;
  return defined({
    ...info,
    replicas: deployment.spec?.replicas,
    paused: deployment.spec?.paused,
    availableReplicas: deployment.status?.availableReplicas,
    readyReplicas: deployment.status?.readyReplicas,
    updatedReplicas: deployment.status?.updatedReplicas,
    conditions: conditions(deployment.status?.conditions),
  });
}

export function toReplicaSetInfo(replicaSet: V1ReplicaSet): ReplicaSetInfo | undefined {
  return namespaced(replicaSet.metadata);
}

export function toJobInfo(job: V1Job): JobInfo | undefined {
  const info = namespaced(job.metadata);
  if (!info) return undefined;
  return defined({
    ...info,
    activeDeadlineSeconds: job.spec?.activeDeadlineSeconds,
    suspend: job.spec?.suspend,
    backoffLimit: job.spec?.backoffLimit,
    active: job.status?.active,
    succeeded: job.status?.succeeded,
    failed: job.status?.failed,
    startTime: iso(job.status?.startTime),
    completionTime: iso(job.status?.completionTime),
    conditions: conditions(job.status?.conditions),
  });
}

/** CronJobs, StatefulSets and DaemonSets are kept only as owners to group by. */
export function toWorkloadInfo(kind: string, object: V1CronJob | V1StatefulSet | V1DaemonSet): WorkloadInfo | undefined {
  const info = namespaced(object.metadata);
  return info ? { ...info, kind } : undefined;
}

export function toNodeInfo(node: V1Node): NodeInfo | undefined {
  const info = objectInfo(node.metadata);
  if (!info) return undefined;
  return defined({ ...info, unschedulable: node.spec?.unschedulable, conditions: conditions(node.status?.conditions) });
}

/** Only Warning events with a reason some detector reads; messages are never copied. */
export function toEventInfo(event: CoreV1Event): EventInfo | undefined {
  if (event.type !== 'Warning' || !event.reason || !DETECTOR_EVENT_REASONS.has(event.reason)) return undefined;
  const involved = event.involvedObject;
  const times = eventTimes(event);
  return defined({
    type: event.type,
    reason: event.reason,
    involvedObject: defined({ kind: involved.kind, name: involved.name, namespace: involved.namespace, uid: involved.uid }),
    // events.k8s.io-style series replace count/lastTimestamp on newer reporters (lib/evidence/events.ts).
    count: eventCount(event),
    firstTimestamp: times.first,
    lastTimestamp: times.last,
  });
}

export interface KubernetesLists {
  readonly pods?: readonly V1Pod[];
  readonly deployments?: readonly V1Deployment[];
  readonly replicaSets?: readonly V1ReplicaSet[];
  readonly jobs?: readonly V1Job[];
  readonly cronJobs?: readonly V1CronJob[];
  readonly statefulSets?: readonly V1StatefulSet[];
  readonly daemonSets?: readonly V1DaemonSet[];
  readonly nodes?: readonly V1Node[];
  readonly events?: readonly CoreV1Event[];
}

function mapAll<T, U>(list: readonly T[] | undefined, map: (item: T) => U | undefined): U[] | undefined {
  if (!list) return undefined;
  const out: U[] = [];
  for (const item of list) {
    const mapped = map(item);
    if (mapped !== undefined) out.push(mapped);
  }
  return out;
}

/** A list left out stays undefined in the snapshot: "not read" is not the same as "none". */
export function toSnapshot(lists: KubernetesLists): ClusterSnapshot {
  const workloads = [
    ...(mapAll(lists.cronJobs, (o) => toWorkloadInfo('CronJob', o)) ?? []),
    ...(mapAll(lists.statefulSets, (o) => toWorkloadInfo('StatefulSet', o)) ?? []),
    ...(mapAll(lists.daemonSets, (o) => toWorkloadInfo('DaemonSet', o)) ?? []),
  ];
  const anyWorkloads = lists.cronJobs ?? lists.statefulSets ?? lists.daemonSets;
  return defined({
    pods: mapAll(lists.pods, toPodInfo),
    deployments: mapAll(lists.deployments, toDeploymentInfo),
    replicaSets: mapAll(lists.replicaSets, toReplicaSetInfo),
    jobs: mapAll(lists.jobs, toJobInfo),
    workloads: anyWorkloads ? workloads : undefined,
    nodes: mapAll(lists.nodes, toNodeInfo),
    events: mapAll(lists.events, toEventInfo),
  });
}
