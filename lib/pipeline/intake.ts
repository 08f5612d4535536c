import type { Incident } from '../domain/types.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { incidentAdmitted, incidentsDeduplicated } from '../metrics/healer-metrics.js';
import { mapWithConcurrency } from '../util/concurrency.js';

export interface IntakeReport {
  readonly received: number;
  readonly enqueued: number;
  readonly duplicates: number;
  readonly skipped: readonly string[];
}

/**
 * Deduplicates incidents (one conditional write each) and enqueues only the new ones.
 * If enqueueing fails, the new dedup marks are forgotten before the error propagates, so the
 * sender's retry (Alertmanager retries on 5xx) is not mistaken for a duplicate: nothing is lost.
 */
export async function admitIncidents(
  incidents: readonly Incident[],
  deps: { state: StateStore; queue: IncidentQueue; dedupWindowSeconds: number; nowMs: number; metrics?: Metrics | undefined },
  skipped: readonly string[] = [],
): Promise<IntakeReport> {
  const unique = [...new Map(incidents.map((i) => [i.id, i])).values()];
  // Conditional writes are independent per incident: a bounded fan-out keeps a 100-alert storm
  // payload well inside the webhook's timeout without flooding DynamoDB.
  const isNew = await mapWithConcurrency(unique, 16, (incident) => deps.state.recordIfNew(incident.id, deps.dedupWindowSeconds, deps.nowMs));
  const fresh = unique.filter((_, i) => isNew[i]);
  try {
    await deps.queue.enqueue(fresh);
  } catch (error) {
    await Promise.allSettled(fresh.map((i) => deps.state.forgetIncident(i.id)));
    throw error;
  }
  for (const incident of fresh) deps.metrics?.record(incidentAdmitted(incident));
  const duplicates = unique.filter((_, i) => !isNew[i]);
  for (const source of new Set(duplicates.map((i) => i.source))) {
    deps.metrics?.record(incidentsDeduplicated(source, duplicates.filter((i) => i.source === source).length));
  }
  return { received: incidents.length + skipped.length, enqueued: fresh.length, duplicates: incidents.length - fresh.length, skipped };
}
