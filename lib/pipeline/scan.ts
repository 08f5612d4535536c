import type { Incident } from '../domain/types.js';
import { incidentId } from '../intake/incidents.js';
import type { ClusterReader, Clock, IncidentQueue, StateStore } from '../ports/index.js';
import { admitIncidents, type IntakeReport } from './intake.js';

/** The scheduled scan: finds crash-looping pods and feeds the same incident path as alerts. */
export async function scanCluster(deps: {
  reader: ClusterReader;
  state: StateStore;
  queue: IncidentQueue;
  clock: Clock;
  cluster: string;
  dedupWindowSeconds: number;
}): Promise<IntakeReport> {
  const nowMs = deps.clock.now();
  const detectedAt = new Date(nowMs).toISOString();
  const pods = await deps.reader.listCrashLoopingPods();
  const incidents: Incident[] = pods.map((pod) => ({
    id: incidentId(deps.cluster, pod.namespace, 'Pod', pod.name, 'CrashLoopBackOff'),
    cluster: deps.cluster,
    source: 'scan',
    symptom: 'CrashLoopBackOff',
    subject: { kind: 'Pod', name: pod.name, namespace: pod.namespace },
    severity: 'warning',
    labels: {},
    annotations: {},
    detectedAt,
  }));
  return admitIncidents(incidents, { state: deps.state, queue: deps.queue, dedupWindowSeconds: deps.dedupWindowSeconds, nowMs });
}
