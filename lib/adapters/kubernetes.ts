import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1ContainerStatus,
  type V1Deployment,
  type V1ObjectMeta,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type {
  ActionResult,
  ContainerEvidence,
  EventEvidence,
  Evidence,
  GovernanceEvidence,
  Incident,
  NodeEvidence,
  ObjectRef,
  ResourceEvidence,
  RolloutEvidence,
} from '../domain/types.js';
import { gitopsOwner, selectorMatches, summariseRollout } from '../evidence/workload.js';
import type { ClusterActor, ClusterReader, Clock, SnapshotRead } from '../ports/index.js';
import {
  toDeploymentInfo,
  toEventInfo,
  toJobInfo,
  toNodeInfo,
  toPodInfo,
  toReplicaSetInfo,
  toWorkloadInfo,
} from '../detect/from-kubernetes.js';
import type { ClusterSnapshot, WorkloadInfo } from '../detect/snapshot.js';
import { redact } from '../evidence/redact.js';
import { truncateLog } from '../evidence/budget.js';

/** Opt-out marker, as an annotation or a label, on the target, any owner, or the namespace. */
export const OPT_OUT_KEY = 'k8s-healer.io/opt-out';

export interface KubernetesLimits {
  readonly logTailLines: number;
  readonly logLimitBytes: number;
  readonly eventsLimit: number;
}

export function loadKubeConfig(source: { kubeconfigYaml?: string }): KubeConfig {
  const kc = new KubeConfig();
  if (source.kubeconfigYaml) kc.loadFromString(source.kubeconfigYaml);
  else kc.loadFromDefault();
  return kc;
}

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;

function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: unknown } | string | undefined;
    const message = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : '';
    return `HTTP ${error.code}${message ? `: ${message.slice(0, 300)}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function optedOut(meta: V1ObjectMeta | undefined): boolean {
  return meta?.annotations?.[OPT_OUT_KEY] === 'true' || meta?.labels?.[OPT_OUT_KEY] === 'true';
}

function controllerOf(meta: V1ObjectMeta | undefined) {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

/** Timestamps arrive as Date (Time) or, for MicroTime fields such as eventTime, as strings. */
function isoTime(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value === 'string' && value.length > 0) return value;
  return undefined;
}

interface OwnerChain {
  refs: ObjectRef[];
  optOut: boolean;
  replicaSet?: V1ReplicaSet;
  deployment?: V1Deployment;
}

function resourcesOf(pod: V1Pod): ResourceEvidence[] {
  return (pod.spec?.containers ?? []).map((c) => ({
    container: c.name,
    requests: { ...(c.resources?.requests ?? {}) },
    limits: { ...(c.resources?.limits ?? {}) },
  }));
}

function containerEvidence(status: V1ContainerStatus): ContainerEvidence {
  const terminated = status.lastState?.terminated;
  return {
    name: status.name,
    ready: status.ready,
    restartCount: status.restartCount,
    waitingReason: status.state?.waiting?.reason,
    lastTermination: terminated
      ? {
          reason: terminated.reason,
          exitCode: terminated.exitCode,
          signal: terminated.signal,
          finishedAt: isoTime(terminated.finishedAt),
        }
      : undefined,
  };
}

/** Page size of the scan's lists: the API server's usual chunk, small enough to map and drop. */
const SCAN_PAGE_LIMIT = 500;

interface ListPage<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly _continue?: string };
}

/** Reads and acts on one cluster through @kubernetes/client-node, with the healer's scoped identity. */
export class KubernetesCluster implements ClusterReader, ClusterActor {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly policy: PolicyV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly batch: BatchV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly limits: KubernetesLimits,
    private readonly clock: Clock,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.policy = kubeConfig.makeApiClient(PolicyV1Api);
    this.autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
  }

  async gatherEvidence(incident: Incident): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const gaps: string[] = [];
    const gatheredAt = new Date(this.clock.now()).toISOString();
    if (incident.subject.kind !== 'Pod') {
      // Evidence for workloads, Jobs and Nodes is not gathered yet: say so, never guess "gone".
      return {
        subject: incident.subject,
        exists: true,
        ownerChain: [{ kind: incident.subject.kind, name, namespace: namespace || undefined }],
        containers: [],
        events: [],
        optOut: false,
        namespaceOptOut: false,
        gatheredAt,
        gaps: [`evidence for ${incident.subject.kind} incidents is not gathered yet`],
      };
    }
    let pod: V1Pod;
    try {
      pod = await this.core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) {
        return { subject: incident.subject, exists: false, ownerChain: [], containers: [], events: [], optOut: false, namespaceOptOut: false, gatheredAt, gaps };
      }
      throw error;
    }
    const owners = await this.ownerChain(pod, gaps);
    const [events, ownerEvents, namespaceOptOut, containers, rollout, node, governance] = await Promise.all([
      this.events(namespace, 'Pod', name, gaps),
      this.ownerEvents(namespace, owners, gaps),
      this.namespaceOptedOut(namespace, gaps),
      this.containersWithLogs(pod, gaps),
      this.rollout(namespace, owners, gaps),
      this.node(pod.spec?.nodeName, gaps),
      this.governance(pod, owners.deployment, gaps),
    ]);
    return {
      subject: incident.subject,
      exists: true,
      resourceVersion: pod.metadata?.resourceVersion,
      phase: pod.status?.phase,
      podReady: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      deleting: pod.metadata?.deletionTimestamp !== undefined,
      nodeName: pod.spec?.nodeName,
      ownerChain: [{ kind: 'Pod', name, namespace, uid: pod.metadata?.uid }, ...owners.refs],
      containers,
      events: [...events, ...ownerEvents].sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '')).slice(0, this.limits.eventsLimit),
      resources: resourcesOf(pod),
      rollout,
      node,
      governance,
      optOut: optedOut(pod.metadata) || owners.optOut,
      namespaceOptOut,
      gatheredAt,
      gaps,
    };
  }

  async ownerChainOf(incident: Incident): Promise<ObjectRef[] | undefined> {
    const { namespace, name } = incident.subject;
    if (incident.subject.kind !== 'Pod') return undefined;
    let pod: V1Pod;
    try {
      pod = await this.core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
    const owners = await this.ownerChain(pod, []);
    return [{ kind: 'Pod', name, namespace, uid: pod.metadata?.uid }, ...owners.refs];
  }

  /** Follows controller references up: Pod → ReplicaSet → Deployment. Other kinds are named, not read. */
  private async ownerChain(pod: V1Pod, gaps: string[]): Promise<OwnerChain> {
    const namespace = pod.metadata?.namespace ?? '';
    const chain: OwnerChain = { refs: [], optOut: false };
    const first = controllerOf(pod.metadata);
    if (!first) return chain;
    chain.refs.push({ kind: first.kind, name: first.name, namespace, uid: first.uid });
    if (first.kind !== 'ReplicaSet') return chain;
    try {
      chain.replicaSet = await this.apps.readNamespacedReplicaSet({ name: first.name, namespace });
      chain.optOut ||= optedOut(chain.replicaSet.metadata);
      const second = controllerOf(chain.replicaSet.metadata);
      if (second) {
        chain.refs.push({ kind: second.kind, name: second.name, namespace, uid: second.uid });
        if (second.kind === 'Deployment') {
          chain.deployment = await this.apps.readNamespacedDeployment({ name: second.name, namespace });
          chain.optOut ||= optedOut(chain.deployment.metadata) || optedOut(chain.deployment.spec?.template.metadata);
        }
      }
    } catch (error) {
      gaps.push(`owner chain incomplete: ${describeError(error)}`);
    }
    return chain;
  }

  private async ownerEvents(namespace: string, owners: OwnerChain, gaps: string[]): Promise<EventEvidence[]> {
    const lists = await Promise.all(owners.refs.map((o) => this.events(namespace, o.kind, o.name, gaps)));
    return lists.flat();
  }

  /** The Deployment's ReplicaSets: which revision the pod runs and what that revision changed. */
  private async rollout(namespace: string, owners: OwnerChain, gaps: string[]): Promise<RolloutEvidence | undefined> {
    const deployment = owners.deployment;
    const podReplicaSet = owners.replicaSet?.metadata?.name;
    if (!deployment?.metadata?.name || !podReplicaSet) return undefined;
    try {
      const selector = Object.entries(deployment.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      const list = await this.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector || undefined, limit: 50 });
      return summariseRollout({ name: deployment.metadata.name, uid: deployment.metadata.uid }, list.items, podReplicaSet);
    } catch (error) {
      gaps.push(`rollout history unavailable: ${describeError(error)}`);
      return undefined;
    }
  }

  private async node(nodeName: string | undefined, gaps: string[]): Promise<NodeEvidence | undefined> {
    if (!nodeName) return undefined;
    try {
      const node = await this.core.readNode({ name: nodeName });
      return {
        name: nodeName,
        unschedulable: node.spec?.unschedulable === true,
        conditions: (node.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
      };
    } catch (error) {
      gaps.push(`node ${nodeName} unreadable: ${describeError(error)}`);
      return undefined;
    }
  }

  /** PodDisruptionBudget covering the pod, HorizontalPodAutoscaler on its Deployment, GitOps marks. */
  private async governance(pod: V1Pod, deployment: V1Deployment | undefined, gaps: string[]): Promise<GovernanceEvidence> {
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const [pdbs, hpas] = await Promise.all([
      this.policy.listNamespacedPodDisruptionBudget({ namespace, limit: 100 }).catch((error: unknown) => {
        gaps.push(`disruption budgets unreadable: ${describeError(error)}`);
        return undefined;
      }),
      deployment
        ? this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace, limit: 100 }).catch((error: unknown) => {
            gaps.push(`autoscalers unreadable: ${describeError(error)}`);
            return undefined;
          })
        : Promise.resolve(undefined),
    ]);
    const pdb = pdbs?.items.find((p) => selectorMatches(p.spec?.selector, labels));
    const hpa = hpas?.items.find((h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment?.metadata?.name);
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
      gitops: gitopsOwner(deployment?.metadata) ?? gitopsOwner(pod.metadata),
    };
  }

  private async events(namespace: string, kind: string, name: string, gaps: string[]): Promise<EventEvidence[]> {
    try {
      const list = await this.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
        limit: this.limits.eventsLimit,
      });
      return list.items
        .map((e) => ({
          object: `${kind}/${name}`,
          type: e.type ?? 'Normal',
          reason: redact(e.reason ?? ''),
          message: redact((e.message ?? '').slice(0, 1024)),
          count: e.count ?? 1,
          lastSeen: isoTime(e.lastTimestamp ?? e.eventTime),
        }))
        .sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''));
    } catch (error) {
      gaps.push(`events unavailable: ${describeError(error)}`);
      return [];
    }
  }

  private async namespaceOptedOut(namespace: string, gaps: string[]): Promise<boolean> {
    try {
      return optedOut((await this.core.readNamespace({ name: namespace })).metadata);
    } catch (error) {
      // Unknown opt-out state must not read as "not opted out": policy denies on this gap.
      gaps.push(`namespace unreadable: ${describeError(error)}`);
      return true;
    }
  }

  private async containersWithLogs(pod: V1Pod, gaps: string[]): Promise<ContainerEvidence[]> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const statuses = pod.status?.containerStatuses ?? [];
    return Promise.all(
      statuses.map(async (status) => {
        const base = containerEvidence(status);
        if (status.restartCount === 0 && !status.lastState?.terminated) return base;
        try {
          const log = await this.core.readNamespacedPodLog({
            name,
            namespace,
            container: status.name,
            previous: true,
            tailLines: this.limits.logTailLines,
            limitBytes: this.limits.logLimitBytes,
          });
          return { ...base, previousLogTail: redact(truncateLog(log, this.limits.logTailLines, this.limits.logLimitBytes)) };
        } catch (error) {
          const logError = `previous logs of ${status.name} unavailable: ${describeError(error)}`;
          gaps.push(logError);
          return { ...base, logError };
        }
      }),
    );
  }

  async readSnapshot(): Promise<SnapshotRead> {
    const page = { limit: SCAN_PAGE_LIMIT };
    // All lists at once: each holds at most one raw page, so memory stays bounded by the lists' count.
    const [pods, deployments, replicaSets, jobs, cronJobs, statefulSets, daemonSets, nodes, events] = await Promise.all([
      this.listAll('pods', (c) => this.core.listPodForAllNamespaces({ ...page, _continue: c }), toPodInfo),
      this.listAll('deployments', (c) => this.apps.listDeploymentForAllNamespaces({ ...page, _continue: c }), toDeploymentInfo),
      this.listAll('replicasets', (c) => this.apps.listReplicaSetForAllNamespaces({ ...page, _continue: c }), toReplicaSetInfo),
      this.listAll('jobs', (c) => this.batch.listJobForAllNamespaces({ ...page, _continue: c }), toJobInfo),
      this.listAll('cronjobs', (c) => this.batch.listCronJobForAllNamespaces({ ...page, _continue: c }), (o) => toWorkloadInfo('CronJob', o)),
      this.listAll('statefulsets', (c) => this.apps.listStatefulSetForAllNamespaces({ ...page, _continue: c }), (o) => toWorkloadInfo('StatefulSet', o)),
      this.listAll('daemonsets', (c) => this.apps.listDaemonSetForAllNamespaces({ ...page, _continue: c }), (o) => toWorkloadInfo('DaemonSet', o)),
      this.listAll('nodes', (c) => this.core.listNode({ ...page, _continue: c }), toNodeInfo),
      this.listAll('events', (c) => this.core.listEventForAllNamespaces({ ...page, _continue: c, fieldSelector: 'type=Warning' }), toEventInfo),
    ]);
    const workloadLists = [cronJobs.items, statefulSets.items, daemonSets.items].filter((l): l is WorkloadInfo[] => l !== undefined);
    const snapshot: ClusterSnapshot = {
      ...(pods.items ? { pods: pods.items } : {}),
      ...(deployments.items ? { deployments: deployments.items } : {}),
      ...(replicaSets.items ? { replicaSets: replicaSets.items } : {}),
      ...(jobs.items ? { jobs: jobs.items } : {}),
      // Partly read owner kinds still help grouping; the missing ones are named in the gaps.
      ...(workloadLists.length > 0 ? { workloads: workloadLists.flat() } : {}),
      ...(nodes.items ? { nodes: nodes.items } : {}),
      ...(events.items ? { events: events.items } : {}),
    };
    // In list order, whatever order the failures arrived in.
    const gaps = [pods, deployments, replicaSets, jobs, cronJobs, statefulSets, daemonSets, nodes, events].flatMap((r) => (r.gap ? [r.gap] : []));
    return { snapshot, gaps };
  }

  /**
   * Every page of one cluster-wide list, each mapped as it arrives so its raw objects can be
   * collected. A failure makes the list a gap (no items), never a partial list that would read
   * as "these are all". An expired continue token (410: etcd compacted past the list's snapshot)
   * restarts the list once.
   */
  private async listAll<T, U>(
    what: string,
    list: (continueToken: string | undefined) => Promise<ListPage<T>>,
    map: (item: T) => U | undefined,
  ): Promise<{ items?: U[]; gap?: string }> {
    const out: U[] = [];
    let continueToken: string | undefined;
    let restarted = false;
    for (;;) {
      let page: ListPage<T>;
      try {
        page = await list(continueToken);
      } catch (error) {
        if (isStatus(error, 410) && continueToken !== undefined && !restarted) {
          restarted = true;
          out.length = 0;
          continueToken = undefined;
          continue;
        }
        return { gap: `${what} not listed: ${describeError(error)}` };
      }
      for (const item of page.items) {
        const mapped = map(item);
        if (mapped !== undefined) out.push(mapped);
      }
      continueToken = page.metadata?._continue || undefined;
      if (!continueToken) return { items: out };
    }
  }

  /** Eviction API, so PodDisruptionBudgets hold. A 429 means a PDB said no: reported, never forced. */
  async evictPod(target: ObjectRef & { namespace: string }, opts: { dryRun: boolean }): Promise<ActionResult> {
    const ref = { kind: 'Pod', name: target.name, namespace: target.namespace, uid: target.uid };
    try {
      await this.core.createNamespacedPodEviction({
        name: target.name,
        namespace: target.namespace,
        dryRun: opts.dryRun ? 'All' : undefined,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: target.name, namespace: target.namespace },
          // Pin the eviction to the pod we diagnosed: a replacement with the same name is not ours.
          deleteOptions: target.uid ? { preconditions: { uid: target.uid } } : undefined,
        },
      });
      return { action: 'evict-pod', target: ref, ok: true, detail: opts.dryRun ? 'server-side dry run accepted' : 'eviction accepted' };
    } catch (error) {
      if (isStatus(error, 429)) return { action: 'evict-pod', target: ref, ok: false, detail: `PodDisruptionBudget refused the eviction (${describeError(error)})` };
      return { action: 'evict-pod', target: ref, ok: false, detail: `eviction failed: ${describeError(error)}` };
    }
  }

  /** True once the pod with this uid is gone or terminating (its controller makes the replacement). */
  async podReplaced(target: ObjectRef & { namespace: string }): Promise<boolean> {
    try {
      const pod = await this.core.readNamespacedPod({ name: target.name, namespace: target.namespace });
      return pod.metadata?.uid !== target.uid || pod.metadata?.deletionTimestamp !== undefined;
    } catch (error) {
      if (isStatus(error, 404)) return true;
      throw error;
    }
  }
}
