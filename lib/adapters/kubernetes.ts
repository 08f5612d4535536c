import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type V1ContainerStatus,
  type V1ObjectMeta,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ActionResult, ContainerEvidence, EventEvidence, Evidence, Incident, ObjectRef } from '../domain/types.js';
import type { ClusterActor, ClusterReader, Clock } from '../ports/index.js';
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
          finishedAt: terminated.finishedAt?.toISOString(),
        }
      : undefined,
  };
}

/** Reads and acts on one cluster through @kubernetes/client-node, with the healer's scoped identity. */
export class KubernetesCluster implements ClusterReader, ClusterActor {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly limits: KubernetesLimits,
    private readonly clock: Clock,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
  }

  async gatherEvidence(incident: Incident): Promise<Evidence> {
    const { namespace, name } = incident.subject;
    const gaps: string[] = [];
    const gatheredAt = new Date(this.clock.now()).toISOString();
    let pod: V1Pod;
    try {
      pod = await this.core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isStatus(error, 404)) {
        return { subject: incident.subject, exists: false, ownerChain: [], containers: [], events: [], optOut: false, namespaceOptOut: false, gatheredAt, gaps };
      }
      throw error;
    }
    const [owners, events, namespaceOptOut, containers] = await Promise.all([
      this.ownerChain(pod, gaps),
      this.events(namespace, 'Pod', name, gaps),
      this.namespaceOptedOut(namespace, gaps),
      this.containersWithLogs(pod, gaps),
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
      events,
      optOut: optedOut(pod.metadata) || owners.optOut,
      namespaceOptOut,
      gatheredAt,
      gaps,
    };
  }

  async ownerChainOf(incident: Incident): Promise<ObjectRef[] | undefined> {
    const { namespace, name } = incident.subject;
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
  private async ownerChain(pod: V1Pod, gaps: string[]): Promise<{ refs: ObjectRef[]; optOut: boolean }> {
    const namespace = pod.metadata?.namespace ?? '';
    const refs: ObjectRef[] = [];
    let optOut = false;
    const first = controllerOf(pod.metadata);
    if (!first) return { refs, optOut };
    refs.push({ kind: first.kind, name: first.name, namespace, uid: first.uid });
    if (first.kind !== 'ReplicaSet') return { refs, optOut };
    try {
      const rs = await this.apps.readNamespacedReplicaSet({ name: first.name, namespace });
      optOut ||= optedOut(rs.metadata);
      const second = controllerOf(rs.metadata);
      if (second) {
        refs.push({ kind: second.kind, name: second.name, namespace, uid: second.uid });
        if (second.kind === 'Deployment') {
          const deployment = await this.apps.readNamespacedDeployment({ name: second.name, namespace });
          optOut ||= optedOut(deployment.metadata) || optedOut(deployment.spec?.template.metadata);
        }
      }
    } catch (error) {
      gaps.push(`owner chain incomplete: ${describeError(error)}`);
    }
    return { refs, optOut };
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
          type: e.type ?? 'Normal',
          reason: redact(e.reason ?? ''),
          message: redact((e.message ?? '').slice(0, 1024)),
          count: e.count ?? 1,
          lastSeen: (e.lastTimestamp ?? e.eventTime)?.toISOString(),
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

  async listCrashLoopingPods(): Promise<(ObjectRef & { namespace: string; reason: string })[]> {
    const found: (ObjectRef & { namespace: string; reason: string })[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.core.listPodForAllNamespaces({ limit: 500, _continue: continueToken });
      for (const pod of page.items) {
        const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason === 'CrashLoopBackOff');
        if (waiting && pod.metadata?.name && pod.metadata.namespace) {
          found.push({ kind: 'Pod', name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid, reason: 'CrashLoopBackOff' });
        }
      }
      continueToken = page.metadata?._continue || undefined;
    } while (continueToken);
    return found;
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
