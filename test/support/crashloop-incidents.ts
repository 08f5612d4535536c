/**
 * Small helpers shared by the tests that drive remediate() against the local control plane:
 * the incident the webhook makes for KubePodCrashLooping, waiting for kwok's crash loop, reading
 * the audit trail back from DynamoDB Local, and counting the pods a ReplicaSet controller created.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { CoreV1Api, listPods, loadKubeConfig, waitFor } from './control-plane.js';
import type { HealerEnv } from './healer-env.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { AuditEntry, Incident } from '../../lib/domain/types.js';

/** A transient dependency failure: the runbook classifies it as transient-crash and proposes evict-pod. */
export const CONNECTION_REFUSED_LOG = [
  '2026-11-25T03:00:00Z starting web 1.4.2',
  '2026-11-25T03:00:01Z connecting to postgres at orders-db:5432',
  '2026-11-25T03:00:04Z error: dial tcp 10.0.0.17:5432: connect: connection refused',
  '2026-11-25T03:00:04Z fatal: database unreachable, exiting',
].join('\n');

/** The incident the webhook makes for a KubePodCrashLooping alert on this pod (same id). */
export function crashLoopIncident(namespace: string, podName: string, cluster = 'local'): Incident {
  return {
    id: incidentId(cluster, namespace, 'Pod', podName, 'CrashLoopBackOff'),
    cluster,
    source: 'alertmanager',
    symptom: 'CrashLoopBackOff',
    subject: { kind: 'Pod', name: podName, namespace },
    alertname: 'KubePodCrashLooping',
    severity: 'warning',
    labels: { alertname: 'KubePodCrashLooping', namespace, pod: podName },
    annotations: { summary: 'Pod is crash looping.' },
    detectedAt: new Date().toISOString(),
  };
}

/** In CrashLoopBackOff with a last termination, as the runbook needs it, and not terminating. */
export function isCrashLooping(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff' && c.lastState?.terminated !== undefined);
}

/** Waits until `count` pods matching the selector crash-loop; returns them. */
export async function waitForCrashLoopingPods(kubeconfigPath: string, namespace: string, selector: Record<string, string>, count: number, timeoutMs = 90_000): Promise<V1Pod[]> {
  return waitFor(async () => {
    const pods = (await listPods(kubeconfigPath, namespace, selector)).filter(isCrashLooping);
    return pods.length === count ? pods : undefined;
  }, { what: `${count} crash-looping pod(s) ${JSON.stringify(selector)} in ${namespace}`, timeoutMs, intervalMs: 500 });
}

export function auditOf(env: HealerEnv, id: string): Promise<AuditEntry[]> {
  return new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() }).listForIncident(id);
}

/** Pods the ReplicaSet controller created in a namespace: one SuccessfulCreate event each (admin view). */
export async function podsCreatedByReplicaSets(kubeconfigPath: string, namespace: string): Promise<string[]> {
  const core = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=ReplicaSet,reason=SuccessfulCreate' });
  // The recorder counts repeats of an identical event in `count`; each created pod has its own message.
  return events.items.flatMap((e) => Array.from({ length: e.count ?? 1 }, () => e.message ?? ''));
}
