// The objects read here, as client-node types (no runtime import: KubeReads holds the clients).
import type { KubeConfig, V1CronJob, V1DaemonSet, V1Deployment, V1Job, V1Node, V1ObjectMeta, V1Pod, V1PodDisruptionBudget, V1ReplicaSet, V1StatefulSet, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { ContainerEvidence, EventEvidence, Evidence, GovernanceEvidence, Incident, NodeCountsEvidence, NodeEvidence, ObjectRef, RolloutEvidence } from '../domain/types.js';
import type { ClusterReader, Clock, Placement, SnapshotRead } from '../ports/index.js';
import { CLUSTER_SCOPED_KINDS } from '../domain/incident-schema.js';
import { controllerOf, jobPodSelector, labelSelectorOf, refWhere } from '../domain/kube-objects.js';
import { toDeploymentInfo, toEventInfo, toJobInfo, toNodeInfo, toPodInfo, toReplicaSetInfo, toWorkloadInfo } from '../detect/from-kubernetes.js';
import type { ClusterSnapshot, WorkloadInfo } from '../detect/snapshot.js';
import { absentEvidence, deploymentEvidence, jobEvidence, nodeEvidence, placementEvidence, podEvidence } from '../evidence/assemble.js';
import { truncateLog } from '../evidence/budget.js';
import { optedOut, workloadOptedOut } from '../evidence/opt-out.js';
import { CHAIN_GAP, READABLE_OWNER_KINDS, podWorkloads, walkOwners, type OwnerWalk } from '../evidence/owner-walk.js';
import { containerEvidence, containersKeepingText, finishedMs, hasPreviousRun, newerPod, worstPod } from '../evidence/pods.js';
import { redact } from '../evidence/redact.js';
import { governanceOf, nodeCountsOf, nodeEvidenceOf } from '../evidence/status.js';
import { selectorMatches, summariseRollout } from '../evidence/workload.js';
import { KubeReads, orAbsent, type Listed } from './kube-reads.js';
import { describeKubeError } from './kube-errors.js';

// Moved, re-exported so the entry points' imports stay as they were.
export { BoundedKubeConfig, KubeconfigRefused, loadKubeConfig, type BearerTokens, type EksSignIn } from './kube-config.js';
export { OPT_OUT_KEY } from '../evidence/opt-out.js';
export { MAX_OWNER_DEPTH, READABLE_OWNER_KINDS } from '../evidence/owner-walk.js';
export { jobStatus, lastSuccess, workloadStatus } from '../evidence/status.js';

export interface KubernetesLimits {
  readonly logTailLines: number;
  readonly logLimitBytes: number;
  readonly eventsLimit: number;
  /** Page size of every paginated list (default 500, the API server's usual chunk); tests set it small. */
  readonly listPageSize?: number;
}

/** Pods of a workload read for evidence: enough to count states, few enough to stay cheap. */
const POD_SAMPLE = 50;

/** ReplicaSets listed for a Deployment's rollout history. */
const ROLLOUT_REPLICASETS = 50;

type Workload = V1ReplicaSet | V1Deployment | V1StatefulSet | V1DaemonSet | V1Job | V1CronJob;

/** What a placement read, kept with it so the evidence gathered right after need not read it again. */
interface PlacementRead {
  readonly key: string;
  readonly subject: { metadata?: V1ObjectMeta };
  readonly walk: OwnerWalk<Workload>;
  readonly namespaceOptOut: boolean;
  readonly gaps: readonly string[];
}

/** What the caller already holds about the incident (ClusterReader.gatherEvidence). */
type GatherKnown = { readonly placement?: Placement | undefined; readonly earlier?: Evidence | undefined };

const sameSubject = (evidence: Evidence, incident: Incident) =>
  evidence.subject.kind === incident.subject.kind && evidence.subject.name === incident.subject.name && evidence.subject.namespace === incident.subject.namespace;

const subjectKey = (incident: Incident) => JSON.stringify([incident.cluster, incident.subject.kind, incident.subject.namespace, incident.subject.name]);

/**
 * Reads one cluster for the healer's evidence, placements and scan, through the read layer
 * (kube-reads.ts), with the healer's scoped identity. What the reads mean (opt-out, owner
 * chains, per-kind evidence) is decided by the pure modules of lib/evidence.
 */
export class KubernetesCluster implements ClusterReader {
  private readonly reads: KubeReads;
  /** Each placement's reads, until the evidence that was handed that placement takes them (once). */
  private readonly placementReads = new WeakMap<Placement, PlacementRead>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly limits: KubernetesLimits,
    private readonly clock: Clock,
  ) {
    this.reads = new KubeReads(kubeConfig, limits.listPageSize);
  }

  /**
   * The subject's evidence. `known.placement`, when it is a placement this reader just returned
   * for the same subject, saves reading the subject, its owners and its namespace again (once:
   * a later call reads afresh). Callers pass it only right after reading the placement, never
   * for a re-read that must be live. `known.earlier`, evidence read earlier for the same subject,
   * makes this a live re-read of the facts: every object, list and status is read again, while
   * the cluster text (events and log tails, which no rule or plan reads) is the earlier read's.
   */
  async gatherEvidence(incident: Incident, known?: GatherKnown): Promise<Evidence> {
    const gatheredAt = new Date(this.clock.now()).toISOString();
    const earlier = known?.earlier && sameSubject(known.earlier, incident) ? known.earlier : undefined;
    const handed = known?.placement ? this.placementReads.get(known.placement) : undefined;
    if (known?.placement) this.placementReads.delete(known.placement);
    const read = handed?.key === subjectKey(incident) ? { placement: known?.placement, read: handed } : await this.readPlacement(incident);
    if (!read.placement) return absentEvidence(incident, gatheredAt);
    if (!read.read) return placementEvidence(incident, read.placement, gatheredAt);
    const gaps = [...read.read.gaps];
    switch (incident.subject.kind) {
      case 'Pod': return this.podEvidence(incident, read.read, gatheredAt, gaps, earlier);
      case 'Deployment': return this.deploymentEvidence(incident, read.read, gatheredAt, gaps, earlier);
      case 'Job': return this.jobEvidence(incident, read.read, gatheredAt, gaps, earlier);
      case 'Node': return this.nodeEvidence(incident, read.read, gatheredAt, gaps, earlier);
      default: return placementEvidence(incident, read.placement, gatheredAt);
    }
  }

  private async podEvidence(incident: Incident, placed: PlacementRead, gatheredAt: string, gaps: string[], earlier: Evidence | undefined): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const pod = placed.subject as V1Pod;
    const owners = podWorkloads(placed.walk);
    const deployment = owners.deployment as V1Deployment | undefined;
    // The earlier read's log tails belong to this pod only if it is the same pod (uid).
    const samePod = earlier !== undefined && earlier.ownerChain[0]?.uid === pod.metadata?.uid;
    const [events, ownerEvents, containers, rollout, node, governance] = await Promise.all([
      earlier ? earlier.events : this.events({ kind: 'Pod', name, namespace }, gaps),
      earlier ? [] : Promise.all(placed.walk.refs.map((o) => this.events(o, gaps))),
      earlier ? containersKeepingText(pod.status?.containerStatuses ?? [], samePod ? earlier.containers : undefined) : this.containersWithLogs(pod, gaps),
      this.rollout(namespace, deployment, owners.replicaSet?.metadata?.name, gaps),
      this.node(pod.spec?.nodeName, gaps),
      this.governance(pod, deployment, gaps),
    ]);
    return podEvidence({
      incident, pod, owners: placed.walk, events: [...events, ...ownerEvents.flat()], namespaceOptOut: placed.namespaceOptOut,
      containers, rollout, node, governance, deployment, eventsLimit: this.limits.eventsLimit, gatheredAt, gaps,
    });
  }

  /**
   * A Deployment subject: its replica status, a sample of its pods (states counted, the worst
   * one's containers and previous logs), its rollout history, events and governance.
   */
  private async deploymentEvidence(incident: Incident, placed: PlacementRead, gatheredAt: string, gaps: string[], earlier: Evidence | undefined): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const deployment = placed.subject as V1Deployment;
    const labelSelector = labelSelectorOf(deployment.spec?.selector);
    const pods = labelSelector
      ? await this.reads.core.listNamespacedPod({ namespace, labelSelector, limit: POD_SAMPLE }).then((l) => l.items.filter((p) => controllerOf(p.metadata)?.kind === 'ReplicaSet')).catch((error: unknown) => {
          gaps.push(`pods of the deployment unreadable: ${describeKubeError(error)}`);
          return [] as V1Pod[];
        })
      : [];
    const worst = worstPod(pods);
    const [events, containers, rollout, governance] = await Promise.all([
      earlier ? earlier.events : this.events({ kind: 'Deployment', name, namespace }, gaps),
      // The worst pod may be another one now: its states are read again, its log not.
      earlier ? containersKeepingText(worst?.status?.containerStatuses ?? [], undefined) : worst ? this.containersWithLogs(worst, gaps) : Promise.resolve([]),
      this.rollout(namespace, deployment, controllerOf(worst?.metadata)?.name, gaps),
      this.governance(worst ?? { metadata: { namespace, labels: deployment.spec?.template.metadata?.labels ?? {} } }, deployment, gaps),
    ]);
    return deploymentEvidence({ incident, deployment, pods, worst, above: placed.walk, events, namespaceOptOut: placed.namespaceOptOut, containers, rollout, governance, gatheredAt, gaps });
  }

  /** A Job subject: its progress, its CronJob, events, and the newest pod's state and log tail. */
  private async jobEvidence(incident: Incident, placed: PlacementRead, gatheredAt: string, gaps: string[], earlier: Evidence | undefined): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const job = placed.subject as V1Job;
    const uid = job.metadata?.uid;
    // Every pod of the Job, paginated: when its last success was is part of the proof that it is
    // stuck, so a partial list would read as "no recent success". Only the newest pod is kept whole.
    let newest: V1Pod | undefined;
    const listed = uid
      ? await this.reads.listAll(
          'pods of the job',
          (page) => this.reads.core.listNamespacedPod({ namespace, labelSelector: jobPodSelector(uid), ...page }),
          (p: V1Pod) => {
            newest = newerPod(newest, p);
            return { succeeded: p.status?.phase === 'Succeeded', finishedMs: finishedMs(p) };
          },
        )
      : { items: [] };
    if (listed.gap) gaps.push(listed.gap);
    const [events, containers] = await Promise.all([
      earlier ? earlier.events : this.events({ kind: 'Job', name, namespace }, gaps),
      earlier ? containersKeepingText(newest?.status?.containerStatuses ?? [], undefined) : newest ? this.containersWithLogs(newest, gaps, { current: true }) : Promise.resolve([]),
    ]);
    return jobEvidence({ incident, job, pods: listed.items, above: placed.walk, events, namespaceOptOut: placed.namespaceOptOut, containers, nowMs: this.clock.now(), gatheredAt, gaps });
  }

  /** A Node subject: its conditions, how many nodes there are and how many are schedulable, events. */
  private async nodeEvidence(incident: Incident, placed: PlacementRead, gatheredAt: string, gaps: string[], earlier: Evidence | undefined): Promise<Evidence> {
    const { name } = incident.subject;
    const [events, nodeCounts] = await Promise.all([earlier ? earlier.events : this.events({ kind: 'Node', name }, gaps), this.nodeCounts(name, gaps)]);
    return nodeEvidence({ incident, node: placed.subject, above: placed.walk, events, nodeCounts, gatheredAt, gaps });
  }

  /** Every node, counted for the cordon budget (paginated). */
  private async nodeCounts(subject: string, gaps: string[]): Promise<NodeCountsEvidence | undefined> {
    const listed = await this.reads.listAll('nodes', (page) => this.reads.core.listNode(page), (n: V1Node) => n);
    if (!listed.items) {
      gaps.push(listed.gap ?? 'nodes not listed');
      return undefined;
    }
    return nodeCountsOf(listed.items, subject);
  }

  /** Pods only (any other subject is its own incident): the pod and its controller owners. */
  async ownerChainOf(incident: Incident): Promise<ObjectRef[] | undefined> {
    if (incident.subject.kind !== 'Pod') return undefined;
    const placement = await this.placementOf(incident);
    return placement ? [...placement.chain] : undefined;
  }

  /**
   * Where the subject sits, from metadata only: the subject, each controller owner up the chain
   * and the namespace are read; no logs, events or lists. Undefined when the subject is gone; a
   * failed read of the subject throws. For a kind the healer does not read, the chain is the
   * subject alone and incomplete. Always read afresh: the write gate's live check is this call.
   */
  async placementOf(incident: Incident): Promise<Placement | undefined> {
    const { placement, read } = await this.readPlacement(incident);
    if (placement && read) this.placementReads.set(placement, read);
    return placement;
  }

  private async readPlacement(incident: Incident): Promise<{ placement?: Placement; read?: PlacementRead }> {
    const { kind, name } = incident.subject;
    const namespace = CLUSTER_SCOPED_KINDS.has(kind) ? '' : incident.subject.namespace;
    const gaps: string[] = [];
    const namespaceOptOut = namespace ? this.namespaceOptedOut(namespace, gaps) : Promise.resolve(false);
    const readable = kind === 'Pod' || kind === 'Node' || READABLE_OWNER_KINDS.includes(kind);
    let subject: { metadata?: V1ObjectMeta } | undefined;
    try {
      subject = readable ? await orAbsent(this.reads.read(kind, name, namespace)) : undefined;
    } catch (error) {
      await namespaceOptOut;
      throw error;
    }
    if (readable && !subject) {
      await namespaceOptOut;
      return {};
    }
    const self: ObjectRef = { kind, name, ...(namespace ? { namespace } : {}), ...(subject?.metadata?.uid ? { uid: subject.metadata.uid } : {}) };
    if (!subject) {
      gaps.push(`${CHAIN_GAP}: ${kind} objects are not read, so whether ${refWhere(kind, namespace, name)} or its owners opted out is unknown`);
      return { placement: { chain: [self], optOut: false, namespaceOptOut: await namespaceOptOut, complete: false, gaps } };
    }
    const [walk, nsOptOut] = await Promise.all([
      walkOwners(subject.metadata, namespace, gaps, (k, n) => this.reads.read(k, n, namespace) as Promise<Workload>, describeKubeError),
      namespaceOptOut,
    ]);
    const own = READABLE_OWNER_KINDS.includes(kind) ? workloadOptedOut(kind, subject) : optedOut(subject.metadata);
    const placement: Placement = { chain: [self, ...walk.refs], optOut: own || walk.optOut, namespaceOptOut: nsOptOut, complete: walk.complete, gaps };
    return { placement, read: { key: subjectKey(incident), subject, walk, namespaceOptOut: nsOptOut, gaps: [...gaps] } };
  }

  /** The Deployment's ReplicaSets: which revision the pod runs and what that revision changed. */
  private async rollout(namespace: string, deployment: V1Deployment | undefined, podReplicaSet: string | undefined, gaps: string[]): Promise<RolloutEvidence | undefined> {
    if (!deployment?.metadata?.name || !podReplicaSet) return undefined;
    try {
      const labelSelector = labelSelectorOf(deployment.spec?.selector) || undefined;
      const list = await this.reads.apps.listNamespacedReplicaSet({ namespace, labelSelector, limit: ROLLOUT_REPLICASETS });
      return summariseRollout({ name: deployment.metadata.name, uid: deployment.metadata.uid }, list.items, podReplicaSet);
    } catch (error) {
      gaps.push(`rollout history unavailable: ${describeKubeError(error)}`);
      return undefined;
    }
  }

  private async node(nodeName: string | undefined, gaps: string[]): Promise<NodeEvidence | undefined> {
    if (!nodeName) return undefined;
    try {
      return nodeEvidenceOf(await this.reads.core.readNode({ name: nodeName }));
    } catch (error) {
      gaps.push(`node ${nodeName} unreadable: ${describeKubeError(error)}`);
      return undefined;
    }
  }

  /** PodDisruptionBudget covering the pod, HorizontalPodAutoscaler on its Deployment, GitOps marks. */
  private async governance(pod: Pick<V1Pod, 'metadata'>, deployment: V1Deployment | undefined, gaps: string[]): Promise<GovernanceEvidence> {
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    // Every page: an autoscaler past the first page still owns the replica count. A list that
    // fails is a gap ("autoscalers not listed: ..."), which hpa-owns-replicas denies on.
    const [pdbs, hpas] = await Promise.all([
      this.reads.listAll(
        'disruption budgets',
        (page) => this.reads.policy.listNamespacedPodDisruptionBudget({ namespace, ...page }),
        (p: V1PodDisruptionBudget) => (selectorMatches(p.spec?.selector, labels) ? p : undefined),
      ),
      deployment
        ? this.reads.listAll(
            'autoscalers',
            (page) => this.reads.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace, ...page }),
            (h: V2HorizontalPodAutoscaler) => (h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata?.name ? h : undefined),
          )
        : Promise.resolve<Listed<V2HorizontalPodAutoscaler>>({ items: [] }),
    ]);
    for (const listed of [pdbs, hpas]) if (listed.gap) gaps.push(listed.gap);
    return governanceOf(pdbs.items?.[0], hpas.items?.[0], deployment?.metadata, pod.metadata);
  }

  /** The object's newest events (redacted by the read layer); a failed list is a gap. */
  private async events(object: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>, gaps: string[]): Promise<EventEvidence[]> {
    try {
      return await this.reads.eventsOf(object, this.limits.eventsLimit);
    } catch (error) {
      gaps.push(`events unavailable: ${describeKubeError(error)}`);
      return [];
    }
  }

  private async namespaceOptedOut(namespace: string, gaps: string[]): Promise<boolean> {
    try {
      return optedOut((await this.reads.core.readNamespace({ name: namespace })).metadata);
    } catch (error) {
      // Unknown opt-out state must not read as "not opted out": policy denies on this gap.
      gaps.push(`namespace unreadable: ${describeKubeError(error)}`);
      return true;
    }
  }

  /**
   * Container statuses with the previous container's log tail where one crashed; with `current`
   * (a Job's pod, which is not restarted but replaced) also the current log tail.
   */
  private async containersWithLogs(pod: V1Pod, gaps: string[], opts: { current?: boolean } = {}): Promise<ContainerEvidence[]> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const { logTailLines, logLimitBytes } = this.limits;
    const tail = async (container: string, previous: boolean): Promise<string> => {
      const log = await this.reads.core.readNamespacedPodLog({ name, namespace, container, previous, tailLines: logTailLines, limitBytes: logLimitBytes });
      return redact(truncateLog(log, logTailLines, logLimitBytes));
    };
    return Promise.all(
      (pod.status?.containerStatuses ?? []).map(async (status) => {
        let evidence: ContainerEvidence = containerEvidence(status);
        if (opts.current) {
          try {
            evidence = { ...evidence, currentLogTail: await tail(status.name, false) };
          } catch (error) {
            gaps.push(`current logs of ${status.name} unavailable: ${describeKubeError(error)}`);
          }
        }
        if (!hasPreviousRun(status)) return evidence;
        try {
          return { ...evidence, previousLogTail: await tail(status.name, true) };
        } catch (error) {
          const logError = `previous logs of ${status.name} unavailable: ${describeKubeError(error)}`;
          gaps.push(logError);
          return { ...evidence, logError };
        }
      }),
    );
  }

  async readSnapshot(): Promise<SnapshotRead> {
    const { core, apps, batch } = this.reads;
    const all = <T, U>(what: string, list: (page: { limit: number; _continue: string | undefined }) => Promise<{ items: T[] }>, map: (item: T) => U | undefined) => this.reads.listAll(what, list, map);
    // All lists at once: each holds at most one raw page, so memory stays bounded by the lists' count.
    const [pods, deployments, replicaSets, jobs, cronJobs, statefulSets, daemonSets, nodes, events] = await Promise.all([
      all('pods', (page) => core.listPodForAllNamespaces(page), toPodInfo),
      all('deployments', (page) => apps.listDeploymentForAllNamespaces(page), toDeploymentInfo),
      all('replicasets', (page) => apps.listReplicaSetForAllNamespaces(page), toReplicaSetInfo),
      all('jobs', (page) => batch.listJobForAllNamespaces(page), toJobInfo),
      all('cronjobs', (page) => batch.listCronJobForAllNamespaces(page), (o) => toWorkloadInfo('CronJob', o)),
      all('statefulsets', (page) => apps.listStatefulSetForAllNamespaces(page), (o) => toWorkloadInfo('StatefulSet', o)),
      all('daemonsets', (page) => apps.listDaemonSetForAllNamespaces(page), (o) => toWorkloadInfo('DaemonSet', o)),
      all('nodes', (page) => core.listNode(page), toNodeInfo),
      all('events', (page) => core.listEventForAllNamespaces({ ...page, fieldSelector: 'type=Warning' }), toEventInfo),
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
}
