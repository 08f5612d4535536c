/**
 * What one incident's audit trail says at a glance: the subject, the symptom, where it came from,
 * what was done and how it ended. Pure; the list view and the CLI show these.
 */
import type { AuditEntry, Outcome } from '../domain/types.js';

export interface IncidentSummary {
  readonly id: string;
  readonly cluster: string;
  /** When the trail starts (the intake entry, else the first entry). */
  readonly at: string;
  readonly namespace: string;
  readonly subject: string;
  readonly symptom: string;
  readonly source: string;
  /** The last outcome recorded; absent while the incident is still being handled. */
  readonly outcome?: Outcome;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export function summarize(entries: readonly AuditEntry[]): IncidentSummary | undefined {
  const first = entries[0];
  if (!first) return undefined;
  const intake = entries.find((e) => e.step === 'intake');
  const subject = (intake?.detail.subject ?? {}) as Record<string, unknown>;
  const outcome = [...entries].reverse().find((e) => e.outcome !== undefined)?.outcome;
  return {
    id: first.incidentId,
    cluster: first.cluster,
    at: (intake ?? first).at,
    namespace: text(subject.namespace),
    subject: `${text(subject.kind) || '?'}/${text(subject.name) || '?'}`,
    symptom: text(intake?.detail.symptom) || '?',
    source: text(intake?.detail.source) || '?',
    ...(outcome ? { outcome } : {}),
  };
}

export interface IncidentFilter {
  readonly namespace?: string;
  readonly outcome?: string;
  /** ISO time: only incidents at or after it. */
  readonly since?: string;
  readonly limit?: number;
}

/** Applies a filter to summaries already fetched (newest first). */
export function filterSummaries(all: readonly IncidentSummary[], f: IncidentFilter): IncidentSummary[] {
  return all
    .filter((s) => (f.namespace ? s.namespace === f.namespace : true))
    .filter((s) => (f.outcome ? s.outcome === f.outcome : true))
    .filter((s) => (f.since ? s.at >= f.since : true))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, f.limit ?? 100);
}
