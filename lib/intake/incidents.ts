import { createHash } from 'node:crypto';
import type { Incident, Symptom } from '../domain/types.js';
import type { Alert } from './alertmanager.js';

/** kube-prometheus / kubernetes-mixin pod alerts we understand, and the symptom each implies. */
const POD_ALERTS: Readonly<Record<string, Symptom>> = {
  KubePodCrashLooping: 'CrashLoopBackOff',
  KubePodNotReady: 'PodNotReady',
};

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Stable id: the same subject with the same symptom in the same cluster is one incident. */
export function incidentId(cluster: string, namespace: string, kind: string, name: string, symptom: Symptom): string {
  return createHash('sha256').update([cluster, namespace, kind, name, symptom].join('\u0000')).digest('hex').slice(0, 32);
}

export type AlertMapping =
  | { readonly incident: Incident }
  | { readonly skipped: string };

/**
 * Turns one alert into an incident, or says why not. Resolved alerts never become incidents:
 * acting on something that has already cleared is how self-healing causes outages.
 */
export function alertToIncident(alert: Alert, cluster: string, nowIso: string): AlertMapping {
  const alertname = alert.labels['alertname'] ?? '';
  if (alert.status !== 'firing') return { skipped: `${alertname || 'alert'} is resolved` };
  const namespace = alert.labels['namespace'];
  const pod = alert.labels['pod'];
  if (!namespace || !pod) return { skipped: `${alertname || 'alert'} has no namespace/pod labels` };
  if (!K8S_NAME.test(namespace) || !K8S_NAME.test(pod)) {
    return { skipped: `${alertname || 'alert'} has an invalid namespace or pod name` };
  }
  const alertCluster = alert.labels['cluster'];
  if (alertCluster !== undefined && alertCluster !== cluster) {
    return { skipped: `${alertname || 'alert'} is for cluster ${alertCluster.slice(0, 100)}, not ${cluster}` };
  }
  const symptom: Symptom = POD_ALERTS[alertname] ?? 'Unknown';
  return {
    incident: {
      id: incidentId(cluster, namespace, 'Pod', pod, symptom),
      cluster,
      source: 'alertmanager',
      symptom,
      subject: { kind: 'Pod', name: pod, namespace },
      alertname,
      severity: alert.labels['severity'] ?? 'warning',
      labels: alert.labels,
      annotations: alert.annotations,
      detectedAt: nowIso,
    },
  };
}
