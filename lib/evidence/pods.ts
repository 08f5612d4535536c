import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ContainerEvidence, ResourceEvidence } from '../domain/types.js';
import { isoTime } from '../domain/kube-objects.js';

/** What pods say, as evidence: pure over already-read pods (client-node types, type-only import). */

/** Every container of the pod reports ready (and there is at least one). */
export function containersReady(pod: V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((c) => c.ready);
}

export function resourcesOf(pod: V1Pod): ResourceEvidence[] {
  return (pod.spec?.containers ?? []).map((c) => ({
    container: c.name,
    requests: { ...(c.resources?.requests ?? {}) },
    limits: { ...(c.resources?.limits ?? {}) },
  }));
}

/** A container's state, without its logs (the adapter adds those). */
export function containerEvidence(status: V1ContainerStatus): ContainerEvidence {
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

/**
 * Container states read now, with the log tails of an earlier read of the same pod (matched by
 * container name): the live re-read refreshes what decides and keeps the text the diagnosis saw.
 */
export function containersKeepingText(statuses: readonly V1ContainerStatus[], earlier: readonly ContainerEvidence[] | undefined): ContainerEvidence[] {
  const before = new Map((earlier ?? []).map((c) => [c.name, c]));
  return statuses.map((status) => {
    const kept = before.get(status.name);
    const text = kept ? { previousLogTail: kept.previousLogTail, currentLogTail: kept.currentLogTail, logError: kept.logError } : {};
    return { ...containerEvidence(status), ...Object.fromEntries(Object.entries(text).filter(([, v]) => v !== undefined)) };
  });
}

/** A container whose previous run's log is worth reading: it restarted, or its last run terminated. */
export const hasPreviousRun = (status: V1ContainerStatus): boolean => status.restartCount !== 0 || status.lastState?.terminated !== undefined;

/** "waiting:CrashLoopBackOff" → 3, "terminated:OOMKilled" → 1, "ready" → 2: what the pods show, counted. */
export function podStates(pods: readonly V1Pod[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    if (containersReady(pod)) add('ready');
    for (const c of statuses) {
      if (c.state?.waiting?.reason) add(`waiting:${c.state.waiting.reason}`);
      if (c.lastState?.terminated?.reason) add(`terminated:${c.lastState.terminated.reason}`);
    }
    if (statuses.length === 0) add(`phase:${pod.status?.phase ?? 'Unknown'}`);
  }
  return counts;
}

/** The pod most worth reading: not ready first, then the most restarts. */
export function worstPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const restarts = (p: V1Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  return [...pods].sort((a, b) => Number(containersReady(a)) - Number(containersReady(b)) || restarts(b) - restarts(a))[0];
}

/** When a pod's containers last terminated (the pod finished then), or undefined when none says. */
export function finishedMs(pod: V1Pod): number | undefined {
  const times = (pod.status?.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .map((t) => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** The newer of two pods by creation time (the Job's newest pod is the one read whole). */
export function newerPod(a: V1Pod | undefined, b: V1Pod): V1Pod {
  const created = (p: V1Pod | undefined) => isoTime(p?.metadata?.creationTimestamp) ?? '';
  return a === undefined || created(b) > created(a) ? b : a;
}
