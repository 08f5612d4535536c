import type { AuditEntry } from '../domain/types.js';
import type { IncidentFilter, IncidentSummary } from '../view/incident-summary.js';

/** Reading incidents back for people: the CLI and the incident view. Read-only. */
export interface IncidentQueries {
  /** Newest first, at most `filter.limit` (default 100), from `filter.since` (default 7 days ago). */
  recent(filter: IncidentFilter, nowMs: number): Promise<IncidentSummary[]>;
  /** Every audit entry of one incident, oldest first; empty when there is none. */
  timeline(incidentId: string): Promise<AuditEntry[]>;
}
