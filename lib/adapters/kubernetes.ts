import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1ContainerStatus,
  type V1CronJob,
  type V1DaemonSet,
  type V1Deployment,
  type V1Job,
  type V1Node,
  type V1ObjectMeta,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1ReplicaSet,
  type V1StatefulSet,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type {
  ContainerEvidence,
  JobStatusEvidence,
  NodeCountsEvidence,
  WorkloadStatusEvidence,
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
import type { ClusterReader, Clock, Placement, SnapshotRead } from '../ports/index.js';
import { CLUSTER_SCOPED_KINDS } from '../domain/incident-schema.js';
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
import { describeKubeError } from './kube-errors.js';

/** Opt-out marker, as an annotation or a label, on the target, any owner, or the namespace. */
export const OPT_OUT_KEY = 'k8s-healer.io/opt-out';

export interface KubernetesLimits {
  readonly logTailLines: number;
  readonly logLimitBytes: number;
  readonly eventsLimit: number;
  /** Page size of every paginated list (default 500, the API server's usual chunk); tests set it small. */
  readonly listPageSize?: number;
}

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/**
 * A KubeConfig whose every request is abandoned after `timeoutMs`, and never later than the
 * deadline set for the current invocation (the Lambda's remaining time): a hung API server then
 * fails the request, and the worker still has time to release, record and page.
 */
export class BoundedKubeConfig extends KubeConfig {
  private deadlineMs: number | undefined;
  /** Requests authenticated through this config so far (every request passes here): the scan reports it. */
  requestCount = 0;

  constructor(private readonly timeoutMs: number) {
    super();
  }

  /** Epoch ms after which no request may run; undefined lifts it. */
  setDeadline(deadlineMs: number | undefined): void {
    this.deadlineMs = deadlineMs;
  }

  /** The undici dispatcher of the first request for each TLS identity (cluster and user), reused. */
  private readonly dispatchers = new Map<string, NonNullable<ReturnType<RequestContext['getDispatcher']>>>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-node 2.0 gives every request a new undici Agent (KubeConfig.createDispatcher), so
    // every API call paid a new TCP connection, TLS handshake and SecureContext. The first one made
    // for a cluster and user is kept and set on later requests (its connections kept alive); the
    // new one is never used, so it never connects. Bearer tokens are headers, not part of the key.
    const made = context.getDispatcher();
    if (made) {
      const cluster = this.getCurrentCluster();
      const user = this.getCurrentUser();
      const key = JSON.stringify([cluster?.name, cluster?.server, cluster?.caData, cluster?.caFile, cluster?.skipTLSVerify, cluster?.tlsServerName, cluster?.proxyUrl, user?.name, user?.certData, user?.certFile, user?.keyData, user?.keyFile]);
      const kept = this.dispatchers.get(key);
      if (kept) context.setDispatcher(kept);
      else this.dispatchers.set(key, made);
    }
    this.requestCount++;
    const left = this.deadlineMs === undefined ? this.timeoutMs : Math.min(this.timeoutMs, this.deadlineMs - Date.now());
    context.setSignal(AbortSignal.timeout(Math.max(1, left)));
  }
}

/** Where bearer tokens come from when the kubeconfig holds none (EKS: lib/adapters/eks-token.ts). */
export interface BearerTokens {
  token(): Promise<string>;
}

/** The kubeconfig user of an EKS sign-in: it holds no credential, each request gets a fresh token. */
const EKS_USER = 'k8s-healer-iam';

/** An EKS cluster the healer signs in to with its own IAM role: endpoint and CA from describe-cluster. */
export interface EksSignIn {
  readonly clusterName: string;
  readonly endpoint: string;
  readonly caData: string;
  readonly tokens: BearerTokens;
}

/** A kubeconfig the healer cannot use: it needs a plugin the functions do not run. */
export class KubeconfigRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigRefused';
  }
}

/**
 * The healer's KubeConfig: an EKS sign-in (its own token, per request), or a kubeconfig with a
 * static identity (token or client certificate). A kubeconfig whose user runs an exec plugin (what
 * `aws eks update-kubeconfig` writes) or an auth provider is refused here, when the functions build
 * their dependencies, not at the first request of an incident: a Lambda has no `aws` CLI to run.
 */
export function loadKubeConfig(source: {
  kubeconfigYaml?: string | undefined;
  requestTimeoutMs?: number;
  eks?: EksSignIn | undefined;
  /** The developer's own default kubeconfig, where the plugin's command exists; never in a function. */
  allowPlugins?: boolean;
}): BoundedKubeConfig {
  const kc = new BoundedKubeConfig(source.requestTimeoutMs ?? 10_000);
  if (source.eks) {
    const name = source.eks.clusterName;
    kc.loadFromOptions({
      clusters: [{ name, server: source.eks.endpoint, caData: source.eks.caData, skipTLSVerify: false }],
      users: [{ name: EKS_USER }],
      contexts: [{ name, cluster: name, user: EKS_USER }],
      currentContext: name,
    });
    // Asked on every request (the generated clients, logs, watches): the source caches and renews.
    const tokens = source.eks.tokens;
    kc.addAuthenticator({
      isAuthProvider: (user) => user.name === EKS_USER,
      applyAuthentication: async (_user, opts) => {
        const withHeaders = opts as { headers?: Record<string, unknown> };
        withHeaders.headers = { ...withHeaders.headers, Authorization: `Bearer ${await tokens.token()}` };
      },
    });
    return kc;
  }
  if (source.kubeconfigYaml) kc.loadFromString(source.kubeconfigYaml);
  else kc.loadFromDefault();
  const user = kc.getCurrentUser();
  if (!source.allowPlugins && (user?.exec || user?.authProvider)) {
    const named = (value: unknown) => (typeof value === 'string' ? value : 'unnamed');
    const plugin = user.exec ? `an exec plugin (${named((user.exec as { command?: unknown }).command)})` : `the auth provider ${named((user.authProvider as { name?: unknown }).name)}`;
    throw new KubeconfigRefused(
      `the kubeconfig's user "${user.name}" needs ${plugin}, which the healer does not run. ` +
        'On EKS set HEALER_EKS_CLUSTER_NAME, HEALER_EKS_ENDPOINT and HEALER_EKS_CA_DATA: the functions then sign in with their own IAM role. ' +
        'Elsewhere store a kubeconfig with a static token or client certificate (infra/rbac.yaml, docs/operations.md).',
    );
  }
  return kc;
}

const isStatus = (error: unknown, code: number) => error instanceof ApiException && error.code === code;

const describeError = describeKubeError;

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

/** Controller kinds the healer reads when they own something: it knows their owners and opt-out. */
export const READABLE_OWNER_KINDS: readonly string[] = ['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

/** Owners read above a subject at most: Pod → ReplicaSet → Deployment and Pod → Job → CronJob need two. */
export const MAX_OWNER_DEPTH = 5;

/** Every gap of the owner walk starts so: the page says why, the policy reads ownerChainComplete. */
const CHAIN_GAP = 'owner chain incomplete';

/** The controller owners above one object, as far as they could be read. */
interface OwnerWalk {
  /** Each controller owner above the start, nearest first: named even when it could not be read. */
  refs: ObjectRef[];
  /** An owner read opted out (annotation or label, on it or its pod template). */
  optOut: boolean;
  /** Every owner up to the top was read; false on any gap (unreadable kind, failed read, depth, cycle). */
  complete: boolean;
  replicaSet?: V1ReplicaSet;
  deployment?: V1Deployment;
}

type Workload = V1ReplicaSet | V1Deployment | V1StatefulSet | V1DaemonSet | V1Job | V1CronJob;

/** The pod template's metadata of a workload (a CronJob's is inside its job template). */
function templateMetaOf(kind: string, o: Workload): V1ObjectMeta | undefined {
  if (kind === 'CronJob') return (o as V1CronJob).spec?.jobTemplate.spec?.template.metadata;
  return (o as Exclude<Workload, V1CronJob>).spec?.template?.metadata;
}

/** Opted out on the object itself, or on the pod template it stamps its pods from. */
function workloadOptedOut(kind: string, o: Workload): boolean {
  return optedOut(o.metadata) || optedOut(templateMetaOf(kind, o)) || (kind === 'CronJob' && optedOut((o as V1CronJob).spec?.jobTemplate.metadata));
}

const refWhere = (kind: string, namespace: string, name: string) => `${kind} ${namespace ? `${namespace}/` : ''}${name}`;

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

/** Pods of a workload or Job read for evidence: enough to count states, few enough to stay cheap. */
const POD_SAMPLE = 50;

function absent(incident: Incident, gatheredAt: string): Evidence {
  return { subject: incident.subject, exists: false, ownerChain: [], ownerChainComplete: false, containers: [], events: [], optOut: false, namespaceOptOut: false, gatheredAt, gaps: [] };
}

function eventEvidence(e: { type?: string; reason?: string; message?: string; count?: number; lastTimestamp?: unknown; eventTime?: unknown }, object: string): EventEvidence {
  return {
    object,
    type: e.type ?? 'Normal',
    reason: redact(e.reason ?? ''),
    message: redact((e.message ?? '').slice(0, 1024)),
    count: e.count ?? 1,
    lastSeen: isoTime(e.lastTimestamp ?? e.eventTime),
  };
}

function nodeEvidenceOf(node: V1Node): NodeEvidence {
  return {
    name: node.metadata?.name ?? '',
    uid: node.metadata?.uid,
    resourceVersion: node.metadata?.resourceVersion,
    unschedulable: node.spec?.unschedulable === true,
    conditions: (node.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
  };
}

export function workloadStatus(d: V1Deployment, states: Readonly<Record<string, number>>): WorkloadStatusEvidence {
  return {
    kind: 'Deployment',
    name: d.metadata?.name ?? '',
    uid: d.metadata?.uid,
    resourceVersion: d.metadata?.resourceVersion,
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
    name: job.metadata?.name ?? '',
    uid: job.metadata?.uid,
    resourceVersion: job.metadata?.resourceVersion,
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

/** When a pod's containers last terminated (the pod finished then), or undefined when none says. */
function finishedMs(pod: V1Pod): number | undefined {
  const times = (pod.status?.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .map((t) => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return times.length > 0 ? Math.max(...times) : undefined;
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

/** "waiting:CrashLoopBackOff" → 3, "terminated:OOMKilled" → 1, "ready" → 2: what the pods show, counted. */
function podStates(pods: readonly V1Pod[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length > 0 && statuses.every((c) => c.ready)) add('ready');
    for (const c of statuses) {
      if (c.state?.waiting?.reason) add(`waiting:${c.state.waiting.reason}`);
      if (c.lastState?.terminated?.reason) add(`terminated:${c.lastState.terminated.reason}`);
    }
    if (statuses.length === 0) add(`phase:${pod.status?.phase ?? 'Unknown'}`);
  }
  return counts;
}

/** The pod most worth reading: not ready first, then the most restarts. */
function worstPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const restarts = (p: V1Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  const ready = (p: V1Pod) => (p.status?.containerStatuses ?? []).length > 0 && (p.status?.containerStatuses ?? []).every((c) => c.ready);
  return [...pods].sort((a, b) => Number(ready(a)) - Number(ready(b)) || restarts(b) - restarts(a))[0];
}

/** Page size of the scan's lists: the API server's usual chunk, small enough to map and drop. */
const SCAN_PAGE_LIMIT = 500;

/** A paginated list read whole (items), or not at all (gap): never a partial list. */
interface Listed<U> {
  readonly items?: U[];
  readonly gap?: string;
}

interface ListPage<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly _continue?: string };
}

/** Reads and acts on one cluster through @kubernetes/client-node, with the healer's scoped identity. */
export class KubernetesCluster implements ClusterReader {
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

  private get pageSize(): number {
    return this.limits.listPageSize ?? SCAN_PAGE_LIMIT;
  }

  async gatherEvidence(incident: Incident): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const gaps: string[] = [];
    const gatheredAt = new Date(this.clock.now()).toISOString();
    if (incident.subject.kind === 'Deployment') return this.deploymentEvidence(incident, gatheredAt);
    if (incident.subject.kind === 'Job') return this.jobEvidence(incident, gatheredAt);
    if (incident.subject.kind === 'Node') return this.nodeEvidence(incident, gatheredAt);
    if (incident.subject.kind !== 'Pod') {
      // Other kinds (StatefulSet, DaemonSet, CronJob, HPA, PVC) page: their place (owners, opt-out)
      // where the healer can read it; say what was not read, never guess "gone".
      const placement = await this.placementOf(incident);
      if (!placement) return absent(incident, gatheredAt);
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
    let pod: V1Pod;
    try {
      pod = await this.core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) return absent(incident, gatheredAt);
      throw error;
    }
    const owners = await this.walkOwners(pod.metadata, namespace, gaps);
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
      ownerChainComplete: owners.complete,
      containers,
      events: [...events, ...ownerEvents].sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '')).slice(0, this.limits.eventsLimit),
      resources: resourcesOf(pod),
      rollout,
      node,
      governance,
      ...(owners.deployment ? { workload: workloadStatus(owners.deployment, {}) } : {}),
      optOut: optedOut(pod.metadata) || owners.optOut,
      namespaceOptOut,
      gatheredAt,
      gaps,
    };
  }

  /**
   * A Deployment subject: its replica status, a sample of its pods (states counted, the worst
   * one's containers and previous logs), its rollout history, events and governance.
   */
  private async deploymentEvidence(incident: Incident, gatheredAt: string): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const gaps: string[] = [];
    let deployment: V1Deployment;
    try {
      deployment = await this.apps.readNamespacedDeployment({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) return absent(incident, gatheredAt);
      throw error;
    }
    const selector = deployment.spec?.selector;
    const labelSelector = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = labelSelector
      ? await this.core.listNamespacedPod({ namespace, labelSelector, limit: POD_SAMPLE }).then((l) => l.items.filter((p) => controllerOf(p.metadata)?.kind === 'ReplicaSet')).catch((error: unknown) => {
          gaps.push(`pods of the deployment unreadable: ${describeError(error)}`);
          return [] as V1Pod[];
        })
      : [];
    const worst = worstPod(pods);
    const sampleReplicaSet = controllerOf(worst?.metadata)?.name;
    // Its own owners too: a Deployment some operator controls is that operator's to change.
    const above = await this.walkOwners(deployment.metadata, namespace, gaps);
    const [events, namespaceOptOut, containers, rollout, governance] = await Promise.all([
      this.events(namespace, 'Deployment', name, gaps),
      this.namespaceOptedOut(namespace, gaps),
      worst ? this.containersWithLogs(worst, gaps) : Promise.resolve([]),
      sampleReplicaSet ? this.rollout(namespace, { deployment, replicaSet: { metadata: { name: sampleReplicaSet } } }, gaps) : Promise.resolve(undefined),
      this.governance(worst ?? { metadata: { namespace, labels: deployment.spec?.template.metadata?.labels ?? {} } }, deployment, gaps),
    ]);
    return {
      subject: incident.subject,
      exists: true,
      resourceVersion: deployment.metadata?.resourceVersion,
      deleting: deployment.metadata?.deletionTimestamp !== undefined,
      ownerChain: [{ kind: 'Deployment', name, namespace, uid: deployment.metadata?.uid }, ...above.refs],
      ownerChainComplete: above.complete,
      containers,
      events,
      resources: worst ? resourcesOf(worst) : undefined,
      rollout,
      governance,
      workload: workloadStatus(deployment, podStates(pods)),
      optOut: workloadOptedOut('Deployment', deployment) || above.optOut,
      namespaceOptOut,
      gatheredAt,
      gaps,
    };
  }

  /** A Job subject: its progress, its CronJob, events, and the newest pod's state and log tail. */
  private async jobEvidence(incident: Incident, gatheredAt: string): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const gaps: string[] = [];
    let job: V1Job;
    try {
      job = await this.batch.readNamespacedJob({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) return absent(incident, gatheredAt);
      throw error;
    }
    const uid = job.metadata?.uid;
    // Every pod of the Job, paginated: when its last success was is part of the proof that it is
    // stuck, so a partial list would read as "no recent success". Only the newest pod is kept whole.
    let newest: V1Pod | undefined;
    const created = (p: V1Pod | undefined) => isoTime(p?.metadata?.creationTimestamp) ?? '';
    const listed = uid
      ? await this.listAll(
          'pods of the job',
          (c) => this.core.listNamespacedPod({ namespace, labelSelector: `controller-uid=${uid}`, limit: this.pageSize, _continue: c }),
          (p: V1Pod) => {
            if (newest === undefined || created(p) > created(newest)) newest = p;
            return { succeeded: p.status?.phase === 'Succeeded', finishedMs: finishedMs(p) };
          },
        )
      : { items: [] };
    if (listed.gap) gaps.push(listed.gap);
    // Its CronJob (or whatever controls it) is read for its opt-out, and is the workload it belongs to.
    const above = await this.walkOwners(job.metadata, namespace, gaps);
    const [events, namespaceOptOut, containers] = await Promise.all([
      this.events(namespace, 'Job', name, gaps),
      this.namespaceOptedOut(namespace, gaps),
      newest ? this.containersWithLogs(newest, gaps, { current: true }) : Promise.resolve([]),
    ]);
    return {
      subject: incident.subject,
      exists: true,
      resourceVersion: job.metadata?.resourceVersion,
      deleting: job.metadata?.deletionTimestamp !== undefined,
      ownerChain: [{ kind: 'Job', name, namespace, uid }, ...above.refs],
      ownerChainComplete: above.complete,
      containers,
      events,
      governance: { gitops: gitopsOwner(job.metadata) },
      job: { ...jobStatus(job, this.clock.now()), ...lastSuccess(listed.items, job.status?.succeeded ?? 0, this.clock.now()) },
      optOut: workloadOptedOut('Job', job) || above.optOut,
      namespaceOptOut,
      gatheredAt,
      gaps,
    };
  }

  /** A Node subject: its conditions, how many nodes there are and how many are schedulable, events. */
  private async nodeEvidence(incident: Incident, gatheredAt: string): Promise<Evidence> {
    const { name } = incident.subject;
    const gaps: string[] = [];
    let node: V1Node;
    try {
      node = await this.core.readNode({ name });
    } catch (error) {
      if (isStatus(error, 404)) return absent(incident, gatheredAt);
      throw error;
    }
    const above = await this.walkOwners(node.metadata, '', gaps);
    const [events, nodeCounts] = await Promise.all([
      this.core
        .listEventForAllNamespaces({ fieldSelector: `involvedObject.kind=Node,involvedObject.name=${name}`, limit: this.limits.eventsLimit })
        .then((l) => l.items.map((e) => eventEvidence(e, `Node/${name}`)).sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '')))
        .catch((error: unknown) => {
          gaps.push(`events unavailable: ${describeError(error)}`);
          return [] as EventEvidence[];
        }),
      this.nodeCounts(name, gaps),
    ]);
    return {
      subject: incident.subject,
      exists: true,
      resourceVersion: node.metadata?.resourceVersion,
      deleting: node.metadata?.deletionTimestamp !== undefined,
      ownerChain: [{ kind: 'Node', name, uid: node.metadata?.uid }, ...above.refs],
      ownerChainComplete: above.complete,
      containers: [],
      events,
      node: nodeEvidenceOf(node),
      ...(nodeCounts ? { nodeCounts } : {}),
      optOut: optedOut(node.metadata) || above.optOut,
      namespaceOptOut: false,
      gatheredAt,
      gaps,
    };
  }

  /** Every node, counted for the cordon budget (paginated; the subject node excluded from the two counts). */
  private async nodeCounts(subject: string, gaps: string[]): Promise<NodeCountsEvidence | undefined> {
    const listed = await this.listAll('nodes', (c) => this.core.listNode({ limit: this.pageSize, _continue: c }), (n: V1Node) => n);
    if (!listed.items) {
      gaps.push(listed.gap ?? 'nodes not listed');
      return undefined;
    }
    const others = listed.items.filter((n) => n.metadata?.name !== subject);
    const ready = (n: V1Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    return {
      total: listed.items.length,
      cordoned: others.filter((n) => n.spec?.unschedulable === true).length,
      schedulableOthers: others.filter((n) => n.spec?.unschedulable !== true && ready(n)).length,
    };
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
   * subject alone and incomplete.
   */
  async placementOf(incident: Incident): Promise<Placement | undefined> {
    const { kind, name } = incident.subject;
    const namespace = CLUSTER_SCOPED_KINDS.has(kind) ? '' : incident.subject.namespace;
    const gaps: string[] = [];
    const namespaceOptOut = namespace ? this.namespaceOptedOut(namespace, gaps) : Promise.resolve(false);
    let subject: { metadata?: V1ObjectMeta } | undefined;
    try {
      subject = await this.readObject(kind, name, namespace);
    } catch (error) {
      await namespaceOptOut;
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
    const self: ObjectRef = { kind, name, ...(namespace ? { namespace } : {}), ...(subject?.metadata?.uid ? { uid: subject.metadata.uid } : {}) };
    if (!subject) {
      gaps.push(`${CHAIN_GAP}: ${kind} objects are not read, so whether ${refWhere(kind, namespace, name)} or its owners opted out is unknown`);
      return { chain: [self], optOut: false, namespaceOptOut: await namespaceOptOut, complete: false, gaps };
    }
    const [walk, nsOptOut] = await Promise.all([this.walkOwners(subject.metadata, namespace, gaps), namespaceOptOut]);
    const own = READABLE_OWNER_KINDS.includes(kind) ? workloadOptedOut(kind, subject) : optedOut(subject.metadata);
    return { chain: [self, ...walk.refs], optOut: own || walk.optOut, namespaceOptOut: nsOptOut, complete: walk.complete, gaps };
  }

  /** Reads one object of a kind the healer reads (Pod, Node and the controller kinds); undefined for any other kind. */
  private async readObject(kind: string, name: string, namespace: string): Promise<{ metadata?: V1ObjectMeta } | undefined> {
    switch (kind) {
      case 'Pod': return this.core.readNamespacedPod({ name, namespace });
      case 'Node': return this.core.readNode({ name });
      case 'ReplicaSet': return this.apps.readNamespacedReplicaSet({ name, namespace });
      case 'Deployment': return this.apps.readNamespacedDeployment({ name, namespace });
      case 'StatefulSet': return this.apps.readNamespacedStatefulSet({ name, namespace });
      case 'DaemonSet': return this.apps.readNamespacedDaemonSet({ name, namespace });
      case 'Job': return this.batch.readNamespacedJob({ name, namespace });
      case 'CronJob': return this.batch.readNamespacedCronJob({ name, namespace });
      default: return undefined;
    }
  }

  /**
   * Follows controller references up from one object, reading each owner of a kind the healer
   * reads (READABLE_OWNER_KINDS) for its opt-out and its own owner, at most MAX_OWNER_DEPTH deep.
   * An owner of another kind, a failed read (a 404 too: the owner is going away), an owner that
   * is another object now (uid), a cycle or the depth bound is a gap: the owner is still named in
   * `refs`, so the workload key stays the workload's, and `complete` is false.
   */
  private async walkOwners(start: V1ObjectMeta | undefined, namespace: string, gaps: string[]): Promise<OwnerWalk> {
    const walk: OwnerWalk = { refs: [], optOut: false, complete: true };
    const incomplete = (why: string): OwnerWalk => {
      gaps.push(`${CHAIN_GAP}: ${why}`);
      walk.complete = false;
      return walk;
    };
    const seen = new Set<string>(start?.uid ? [start.uid] : []);
    let meta = start;
    for (let depth = 0; ; depth += 1) {
      const owner = controllerOf(meta);
      if (!owner) return walk;
      const where = refWhere(owner.kind, namespace, owner.name);
      if (depth >= MAX_OWNER_DEPTH) return incomplete(`more than ${MAX_OWNER_DEPTH} owners above the subject (next: ${where})`);
      walk.refs.push({ kind: owner.kind, name: owner.name, ...(namespace ? { namespace } : {}), uid: owner.uid });
      if (seen.has(owner.uid)) return incomplete(`${where} owns itself through its chain`);
      seen.add(owner.uid);
      if (!READABLE_OWNER_KINDS.includes(owner.kind)) return incomplete(`${where} is of a kind the healer does not read, so whether it opted out is unknown`);
      let read: Workload;
      try {
        read = (await this.readObject(owner.kind, owner.name, namespace)) as Workload;
      } catch (error) {
        return incomplete(`${where} unreadable: ${describeError(error)}`);
      }
      if (read.metadata?.uid !== owner.uid) return incomplete(`${where} is another object than the one named as owner (uid ${read.metadata?.uid ?? 'unknown'}, expected ${owner.uid})`);
      walk.optOut ||= workloadOptedOut(owner.kind, read);
      if (owner.kind === 'ReplicaSet' && depth === 0) walk.replicaSet = read as V1ReplicaSet;
      if (owner.kind === 'Deployment' && walk.deployment === undefined) walk.deployment = read as V1Deployment;
      meta = read.metadata;
    }
  }

  private async ownerEvents(namespace: string, owners: OwnerWalk, gaps: string[]): Promise<EventEvidence[]> {
    const lists = await Promise.all(owners.refs.map((o) => this.events(namespace, o.kind, o.name, gaps)));
    return lists.flat();
  }

  /** The Deployment's ReplicaSets: which revision the pod runs and what that revision changed. */
  private async rollout(namespace: string, owners: Pick<OwnerWalk, 'replicaSet' | 'deployment'>, gaps: string[]): Promise<RolloutEvidence | undefined> {
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
      return nodeEvidenceOf(node);
    } catch (error) {
      gaps.push(`node ${nodeName} unreadable: ${describeError(error)}`);
      return undefined;
    }
  }

  /** PodDisruptionBudget covering the pod, HorizontalPodAutoscaler on its Deployment, GitOps marks. */
  private async governance(pod: V1Pod, deployment: V1Deployment | undefined, gaps: string[]): Promise<GovernanceEvidence> {
    const namespace = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const limit = this.pageSize;
    // Every page: an autoscaler past the first page still owns the replica count. A list that
    // fails is a gap ("autoscalers not listed: ..."), which hpa-owns-replicas denies on.
    const [pdbs, hpas] = await Promise.all([
      this.listAll(
        'disruption budgets',
        (c) => this.policy.listNamespacedPodDisruptionBudget({ namespace, limit, _continue: c }),
        (p: V1PodDisruptionBudget) => (selectorMatches(p.spec?.selector, labels) ? p : undefined),
      ),
      deployment
        ? this.listAll(
            'autoscalers',
            (c) => this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace, limit, _continue: c }),
            (h: V2HorizontalPodAutoscaler) => (h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata?.name ? h : undefined),
          )
        : Promise.resolve<Listed<V2HorizontalPodAutoscaler>>({ items: [] }),
    ]);
    for (const listed of [pdbs, hpas]) if (listed.gap) gaps.push(listed.gap);
    const pdb = pdbs.items?.[0];
    const hpa = hpas.items?.[0];
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
        .map((e) => eventEvidence(e, `${kind}/${name}`))
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

  /**
   * Container statuses with the previous container's log tail where one crashed; with `current`
   * (a Job's pod, which is not restarted but replaced) also the current log tail.
   */
  private async containersWithLogs(pod: V1Pod, gaps: string[], opts: { current?: boolean } = {}): Promise<ContainerEvidence[]> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const statuses = pod.status?.containerStatuses ?? [];
    const tail = async (container: string, previous: boolean): Promise<string> => {
      const log = await this.core.readNamespacedPodLog({
        name,
        namespace,
        container,
        previous,
        tailLines: this.limits.logTailLines,
        limitBytes: this.limits.logLimitBytes,
      });
      return redact(truncateLog(log, this.limits.logTailLines, this.limits.logLimitBytes));
    };
    return Promise.all(
      statuses.map(async (status) => {
        let evidence: ContainerEvidence = containerEvidence(status);
        if (opts.current) {
          try {
            evidence = { ...evidence, currentLogTail: await tail(status.name, false) };
          } catch (error) {
            gaps.push(`current logs of ${status.name} unavailable: ${describeError(error)}`);
          }
        }
        if (status.restartCount === 0 && !status.lastState?.terminated) return evidence;
        try {
          return { ...evidence, previousLogTail: await tail(status.name, true) };
        } catch (error) {
          const logError = `previous logs of ${status.name} unavailable: ${describeError(error)}`;
          gaps.push(logError);
          return { ...evidence, logError };
        }
      }),
    );
  }

  async readSnapshot(): Promise<SnapshotRead> {
    const page = { limit: this.pageSize };
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
  ): Promise<Listed<U>> {
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
}
