import type { KubeConfig, V1Container, V1ContainerState, V1ContainerStatus, V1Node, V1Pod } from '@kubernetes/client-node';
import type { EventEvidence, ObjectRef, RolloutEvidence } from '../domain/types.js';
import { isoTime, labelSelectorOf } from '../domain/kube-objects.js';
import { redact, redactDeep } from '../evidence/redact.js';
import { summariseRollout } from '../evidence/workload.js';
import type { Investigator, NamespacedRef, ObjectSummary, PodLogRequest } from '../ports/investigator.js';
import { answeredText } from './kube-errors.js';
import { KubeReads } from './kube-reads.js';

/**
 * The model's look-ups on the real cluster, through @kubernetes/client-node with the healer's own
 * identity. It reads only what infra/rbac.yaml already grants (get/list on pods, pods/log, events,
 * replicasets, deployments, jobs, cronjobs, nodes; list on statefulsets and daemonsets) and only the
 * object it is asked for; which objects may be asked for is decided by lib/diagnose/investigation.ts.
 *
 * Summaries keep what diagnosis needs and drop the rest: environment variable VALUES never leave
 * (only names and where they come from), nor do annotations, managed fields or the pod's volumes.
 * What is kept (container args and commands, status and event messages, logs) can still hold a
 * secret, so every answer, and every failure's text, passes through the redaction step in one
 * place (redacted, below) before it leaves this adapter, whatever its caller does next.
 */

/**
 * The one exit of every look-up: the answer redacted (strings anywhere in it, a container's command
 * and args read as one command line), and a failure's text too (API errors quote objects and server
 * text). The original error is not kept as a cause: it would carry the unredacted text along.
 */
async function redacted<T>(read: Promise<T>): Promise<T> {
  let answer: T;
  try {
    answer = await read;
  } catch (error) {
    throw new Error(redact(error instanceof Error ? error.message : String(error)));
  }
  return redactDeep(answer);
}

/** Adds what was being read to a failure, so the model (and the audit) can tell which read failed. */
async function reading<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new Error(`reading ${what} failed: ${answeredText(error)}`, { cause: error });
  }
}

const when = isoTime;

/** Drops undefined, null and empty arrays/objects so summaries stay small. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

const conditions = (list: readonly { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: Date }[] | undefined) =>
  (list ?? []).map((c) => compact({ type: c.type, status: c.status, reason: c.reason, message: c.message?.slice(0, 300), since: when(c.lastTransitionTime) }));

function stateOf(s: V1ContainerState | undefined): Record<string, unknown> | undefined {
  if (s?.waiting) return compact({ waiting: s.waiting.reason, message: s.waiting.message?.slice(0, 300) });
  if (s?.running) return compact({ running: true, since: when(s.running.startedAt) });
  if (s?.terminated) {
    const t = s.terminated;
    return compact({ terminated: t.reason, exitCode: t.exitCode, signal: t.signal, message: t.message?.slice(0, 300), finishedAt: when(t.finishedAt) });
  }
  return undefined;
}

function containerSpec(c: V1Container): Record<string, unknown> {
  return compact({
    name: c.name,
    image: c.image,
    command: c.command?.slice(0, 8),
    args: c.args?.slice(0, 16),
    resources: compact({ requests: c.resources?.requests, limits: c.resources?.limits }),
    // Names and sources only: a literal value may be a credential.
    env: (c.env ?? []).slice(0, 50).map((e) =>
      e.valueFrom?.secretKeyRef ? `${e.name} (from Secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key})`
        : e.valueFrom?.configMapKeyRef ? `${e.name} (from ConfigMap ${e.valueFrom.configMapKeyRef.name}/${e.valueFrom.configMapKeyRef.key})`
          : e.valueFrom ? `${e.name} (from the pod's fields or resources)` : e.name,
    ),
    envFrom: (c.envFrom ?? []).map((f) => (f.secretRef ? `Secret ${f.secretRef.name}` : f.configMapRef ? `ConfigMap ${f.configMapRef.name}` : 'other')),
    livenessProbe: c.livenessProbe ? compact({ initialDelaySeconds: c.livenessProbe.initialDelaySeconds, periodSeconds: c.livenessProbe.periodSeconds, failureThreshold: c.livenessProbe.failureThreshold, httpGet: c.livenessProbe.httpGet?.path, tcpPort: c.livenessProbe.tcpSocket?.port, exec: c.livenessProbe.exec ? true : undefined }) : undefined,
    readinessProbe: c.readinessProbe ? compact({ periodSeconds: c.readinessProbe.periodSeconds, failureThreshold: c.readinessProbe.failureThreshold, httpGet: c.readinessProbe.httpGet?.path, tcpPort: c.readinessProbe.tcpSocket?.port }) : undefined,
  });
}

function containerStatus(s: V1ContainerStatus): Record<string, unknown> {
  return compact({ name: s.name, ready: s.ready, restartCount: s.restartCount, image: s.image, state: stateOf(s.state), lastState: stateOf(s.lastState) });
}

/** Pod summary: status per container, spec per container, scheduling. Pure. */
export function podSummary(pod: V1Pod): ObjectSummary {
  return compact({
    kind: 'Pod',
    name: pod.metadata?.name,
    namespace: pod.metadata?.namespace,
    phase: pod.status?.phase,
    reason: pod.status?.reason,
    message: pod.status?.message?.slice(0, 300),
    node: pod.spec?.nodeName,
    startTime: when(pod.status?.startTime),
    deleting: pod.metadata?.deletionTimestamp ? true : undefined,
    qosClass: pod.status?.qosClass,
    restartPolicy: pod.spec?.restartPolicy,
    serviceAccount: pod.spec?.serviceAccountName,
    conditions: conditions(pod.status?.conditions),
    containerStatuses: (pod.status?.containerStatuses ?? []).map(containerStatus),
    initContainerStatuses: (pod.status?.initContainerStatuses ?? []).map(containerStatus),
    containers: (pod.spec?.containers ?? []).map(containerSpec),
    initContainers: (pod.spec?.initContainers ?? []).map(containerSpec),
  });
}

/** Node summary: what says whether the node can run the pod. Pure. */
export function nodeSummary(node: V1Node): ObjectSummary {
  const pick = (r: Record<string, string> | undefined) => (r ? compact({ cpu: r['cpu'], memory: r['memory'], pods: r['pods'], 'ephemeral-storage': r['ephemeral-storage'] }) : undefined);
  return compact({
    kind: 'Node',
    name: node.metadata?.name,
    createdAt: when(node.metadata?.creationTimestamp),
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? []).map((t) => compact({ key: t.key, value: t.value, effect: t.effect })),
    conditions: conditions(node.status?.conditions),
    capacity: pick(node.status?.capacity),
    allocatable: pick(node.status?.allocatable),
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion,
    containerRuntime: node.status?.nodeInfo?.containerRuntimeVersion,
    os: node.status?.nodeInfo?.osImage,
  });
}

const images = (containers: readonly V1Container[] | undefined) => (containers ?? []).map((c) => c.image ?? '?');
const REVISION = 'deployment.kubernetes.io/revision';

export class KubernetesInvestigator implements Investigator {
  private readonly reads: KubeReads;

  constructor(kubeConfig: KubeConfig) {
    this.reads = new KubeReads(kubeConfig);
  }

  private get core() {
    return this.reads.core;
  }

  private get apps() {
    return this.reads.apps;
  }

  private get batch() {
    return this.reads.batch;
  }

  podLog(pod: NamespacedRef, request: PodLogRequest): Promise<string> {
    return redacted(this.readLog(pod, request));
  }

  events(object: ObjectRef, limit: number): Promise<readonly EventEvidence[]> {
    return redacted(this.readEvents(object, limit));
  }

  describe(object: ObjectRef): Promise<ObjectSummary> {
    return redacted(this.readObject(object));
  }

  rollout(deployment: NamespacedRef, podReplicaSet: string): Promise<RolloutEvidence> {
    return redacted(this.readRollout(deployment, podReplicaSet));
  }

  node(name: string): Promise<ObjectSummary> {
    return redacted(this.readNode(name));
  }

  private readLog(pod: NamespacedRef, request: PodLogRequest): Promise<string> {
    return reading(`the ${request.previous ? 'previous' : 'current'} log of ${pod.namespace}/${pod.name}/${request.container}`, () =>
      this.core.readNamespacedPodLog({
        name: pod.name,
        namespace: pod.namespace,
        container: request.container,
        previous: request.previous,
        tailLines: request.tailLines,
        limitBytes: request.limitBytes,
      }),
    );
  }

  private readEvents(object: ObjectRef, limit: number): Promise<readonly EventEvidence[]> {
    return reading(`events of ${object.kind}/${object.name}`, () => this.reads.eventsOf(object, limit));
  }

  private async readObject(object: ObjectRef): Promise<ObjectSummary> {
    const { kind, name } = object;
    if (kind === 'Node') return this.readNode(name);
    const namespace = object.namespace;
    if (!namespace) throw new Error(`a ${kind} needs a namespace`);
    const what = `${kind} ${namespace}/${name}`;
    switch (kind) {
      case 'Pod':
        return podSummary(await reading(what, () => this.core.readNamespacedPod({ name, namespace })));
      case 'ReplicaSet': {
        const rs = await reading(what, () => this.apps.readNamespacedReplicaSet({ name, namespace }));
        return compact({
          kind, name, namespace,
          revision: rs.metadata?.annotations?.[REVISION],
          createdAt: when(rs.metadata?.creationTimestamp),
          replicas: rs.spec?.replicas,
          ready: rs.status?.readyReplicas ?? 0,
          available: rs.status?.availableReplicas ?? 0,
          images: images(rs.spec?.template?.spec?.containers),
          conditions: conditions(rs.status?.conditions),
        });
      }
      case 'Deployment': {
        const d = await reading(what, () => this.apps.readNamespacedDeployment({ name, namespace }));
        return compact({
          kind, name, namespace,
          revision: d.metadata?.annotations?.[REVISION],
          generation: d.metadata?.generation,
          observedGeneration: d.status?.observedGeneration,
          paused: d.spec?.paused === true ? true : undefined,
          replicas: d.spec?.replicas,
          updated: d.status?.updatedReplicas ?? 0,
          ready: d.status?.readyReplicas ?? 0,
          available: d.status?.availableReplicas ?? 0,
          unavailable: d.status?.unavailableReplicas ?? 0,
          strategy: compact({ type: d.spec?.strategy?.type, maxSurge: d.spec?.strategy?.rollingUpdate?.maxSurge, maxUnavailable: d.spec?.strategy?.rollingUpdate?.maxUnavailable }),
          progressDeadlineSeconds: d.spec?.progressDeadlineSeconds,
          images: images(d.spec?.template.spec?.containers),
          conditions: conditions(d.status?.conditions),
        });
      }
      case 'Job': {
        const j = await reading(what, () => this.batch.readNamespacedJob({ name, namespace }));
        return compact({
          kind, name, namespace,
          completions: j.spec?.completions,
          parallelism: j.spec?.parallelism,
          backoffLimit: j.spec?.backoffLimit,
          activeDeadlineSeconds: j.spec?.activeDeadlineSeconds,
          active: j.status?.active ?? 0,
          succeeded: j.status?.succeeded ?? 0,
          failed: j.status?.failed ?? 0,
          startTime: when(j.status?.startTime),
          completionTime: when(j.status?.completionTime),
          images: images(j.spec?.template.spec?.containers),
          conditions: conditions(j.status?.conditions),
        });
      }
      case 'CronJob': {
        const c = await reading(what, () => this.batch.readNamespacedCronJob({ name, namespace }));
        return compact({
          kind, name, namespace,
          schedule: c.spec?.schedule,
          suspend: c.spec?.suspend === true ? true : undefined,
          concurrencyPolicy: c.spec?.concurrencyPolicy,
          lastScheduleTime: when(c.status?.lastScheduleTime),
          lastSuccessfulTime: when(c.status?.lastSuccessfulTime),
          active: (c.status?.active ?? []).length,
        });
      }
      case 'StatefulSet': {
        // RBAC grants list, not get, on StatefulSets: list the one name.
        const list = await reading(what, () => this.apps.listNamespacedStatefulSet({ namespace, fieldSelector: `metadata.name=${name}`, limit: 1 }));
        const s = list.items[0];
        if (!s) throw new Error(`reading ${what} failed: not found`);
        return compact({
          kind, name, namespace,
          replicas: s.spec?.replicas,
          ready: s.status?.readyReplicas ?? 0,
          current: s.status?.currentReplicas ?? 0,
          updated: s.status?.updatedReplicas ?? 0,
          currentRevision: s.status?.currentRevision,
          updateRevision: s.status?.updateRevision,
          images: images(s.spec?.template.spec?.containers),
          conditions: conditions(s.status?.conditions),
        });
      }
      case 'DaemonSet': {
        const list = await reading(what, () => this.apps.listNamespacedDaemonSet({ namespace, fieldSelector: `metadata.name=${name}`, limit: 1 }));
        const d = list.items[0];
        if (!d) throw new Error(`reading ${what} failed: not found`);
        return compact({
          kind, name, namespace,
          desired: d.status?.desiredNumberScheduled ?? 0,
          current: d.status?.currentNumberScheduled ?? 0,
          ready: d.status?.numberReady ?? 0,
          available: d.status?.numberAvailable ?? 0,
          unavailable: d.status?.numberUnavailable ?? 0,
          updated: d.status?.updatedNumberScheduled ?? 0,
          misscheduled: d.status?.numberMisscheduled ?? 0,
          images: images(d.spec?.template.spec?.containers),
          conditions: conditions(d.status?.conditions),
        });
      }
      default:
        throw new Error(`describing a ${kind} is not supported`);
    }
  }

  private async readRollout(deployment: NamespacedRef, podReplicaSet: string): Promise<RolloutEvidence> {
    const { name, namespace } = deployment;
    const d = await reading(`Deployment ${namespace}/${name}`, () => this.apps.readNamespacedDeployment({ name, namespace }));
    const selector = labelSelectorOf(d.spec?.selector);
    const replicaSets = await reading(`the ReplicaSets of ${namespace}/${name}`, () =>
      this.apps.listNamespacedReplicaSet({ namespace, ...(selector ? { labelSelector: selector } : {}), limit: 100 }),
    );
    return summariseRollout({ name, ...(d.metadata?.uid ? { uid: d.metadata.uid } : {}) }, replicaSets.items, podReplicaSet);
  }

  private async readNode(name: string): Promise<ObjectSummary> {
    return nodeSummary(await reading(`Node ${name}`, () => this.core.readNode({ name })));
  }
}
