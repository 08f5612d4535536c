import type { Incident } from '../domain/types.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';

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
  deps: { state: StateStore; queue: IncidentQueue; dedupWindowSeconds: number; nowMs: number },
  skipped: readonly string[] = [],
): Promise<IntakeReport> {
  const unique = [...new Map(incidents.map((i) => [i.id, i])).values()];
  const fresh: Incident[] = [];
  for (const incident of unique) {
    if (await deps.state.recordIfNew(incident.id, deps.dedupWindowSeconds, deps.nowMs)) fresh.push(incident);
  }
  try {
    await deps.queue.enqueue(fresh);
  } catch (error) {
    await Promise.allSettled(fresh.map((i) => deps.state.forgetIncident(i.id)));
    throw error;
  }
  return { received: incidents.length + skipped.length, enqueued: fresh.length, duplicates: incidents.length - fresh.length, skipped };
}
