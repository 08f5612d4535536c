/**
 * What one incident's audit trail says at a glance: the subject, the symptom, where it came from,
 * what was done and how it ended. Pure; the list view and the CLI show these.
 */
import type { AuditEntry, Outcome } from '../domain/types.js';
import { isNamespaceName } from '../intake/incidents.js';

/** Every outcome, for filters; `satisfies` keeps the list in step with the type. */
export const OUTCOMES = ['acted', 'dry-run', 'paged', 'no-action', 'already-healthy', 'duplicate', 'action-failed', 'awaiting-approval'] as const satisfies readonly Outcome[];

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

/** The filter from query parameters, or what is wrong with them. Pure. */
export function parseIncidentFilter(q: Readonly<Record<string, string | undefined>>): { ok: true; filter: IncidentFilter } | { ok: false; error: string } {
  const namespace = q.namespace?.trim() || undefined;
  const outcome = q.outcome?.trim() || undefined;
  const since = q.since?.trim() || undefined;
  const limit = q.limit?.trim() || undefined;
  if (namespace && !isNamespaceName(namespace)) return { ok: false, error: `namespace "${namespace}" is not a Kubernetes namespace name` };
  if (outcome && !(OUTCOMES as readonly string[]).includes(outcome)) return { ok: false, error: `outcome "${outcome}" is not one of ${OUTCOMES.join(', ')}` };
  if (since && Number.isNaN(Date.parse(since))) return { ok: false, error: `since "${since}" is not a time (use ISO 8601, e.g. 2026-12-05T00:00:00Z)` };
  if (limit && !/^\d{1,4}$/.test(limit)) return { ok: false, error: `limit "${limit}" is not a number from 1 to 1000` };
  const n = limit ? Number(limit) : undefined;
  if (n !== undefined && (n < 1 || n > 1000)) return { ok: false, error: `limit "${limit}" is not a number from 1 to 1000` };
  return { ok: true, filter: { ...(namespace ? { namespace } : {}), ...(outcome ? { outcome } : {}), ...(since ? { since: new Date(since).toISOString() } : {}), ...(n ? { limit: n } : {}) } };
}
