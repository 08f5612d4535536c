/** `incidents`, `show` and `audit`: the audit trail read back, by index Query and per incident. */
import { DynamoIncidentQueries } from '../adapters/dynamo-incident-queries.js';

import { writeFileSync } from 'node:fs';
import { renderReport, stepLine } from '../view/incident-page.js';
import { parseIncidentFilter, summarize } from '../view/incident-summary.js';
import type { AuditEntry } from '../domain/types.js';
import { emit, table, type OutputFormat } from './output.js';
import { CommandFailed, UsageError, type Target } from './target.js';

export interface FilterOptions {
  namespace?: string;
  outcome?: string;
  since?: string;
  limit?: string;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3600_000, d: 86_400_000 };

/** `--since 24h` / `30m` / `7d`, or an ISO time; the result is ISO. */
export function sinceToIso(since: string | undefined, nowMs: number): string | undefined {
  if (since === undefined) return undefined;
  const rel = /^(\d{1,5})([mhd])$/.exec(since.trim());
  if (rel) return new Date(nowMs - Number(rel[1]) * (UNITS[rel[2] ?? 'h'] ?? 0)).toISOString();
  return since;
}

function filterFrom(o: FilterOptions, nowMs: number) {
  const parsed = parseIncidentFilter({ namespace: o.namespace, outcome: o.outcome, since: sinceToIso(o.since, nowMs), limit: o.limit });
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.filter;
}

const queriesOf = (t: Target) => new DynamoIncidentQueries({ tableName: t.auditTable, client: t.dynamo });

export async function listIncidents(t: Target, o: FilterOptions & { output: OutputFormat }, nowMs = Date.now()): Promise<void> {
  const found = await queriesOf(t).recent(filterFrom(o, nowMs), nowMs);
  emit(o.output, found, () => table(found.map((s) => ({ id: s.id, detected: s.at, namespace: s.namespace, subject: s.subject, symptom: s.symptom, source: s.source, outcome: s.outcome ?? 'in progress' })), ['id', 'detected', 'namespace', 'subject', 'symptom', 'source', 'outcome']));
}

const INCIDENT_ID = /^[0-9a-f]{8,64}$|^[a-z-]{1,40}$/;

async function timelineOf(t: Target, id: string): Promise<AuditEntry[]> {
  if (!INCIDENT_ID.test(id)) throw new UsageError(`"${id}" is not an incident id (hex, as \`k8s-healer incidents\` lists them)`);
  const entries = await queriesOf(t).timeline(id);
  if (entries.length === 0) throw new CommandFailed(`no incident ${id} in ${t.describe}`);
  return entries;
}

export async function showIncident(t: Target, id: string, o: { output: OutputFormat }): Promise<void> {
  const entries = await timelineOf(t, id);
  const summary = summarize(entries);
  emit(o.output, { summary, entries }, () => [
    `${summary?.symptom ?? ''} on ${summary?.subject ?? ''} in ${summary?.namespace ?? ''} (cluster ${summary?.cluster ?? ''}): ${summary?.outcome ?? 'in progress'}`,
    table(entries.map((e) => ({ at: e.at, ...stepLine(e) })), ['at', 'step', 'headline'], 140),
  ].join('\n'));
}

export const AUDIT_STEPS = ['intake', 'evidence', 'diagnosis', 'decision', 'action', 'verification', 'approval', 'notification', 'outcome'] as const;

export async function showAudit(t: Target, o: FilterOptions & { incident?: string; step?: string; output: OutputFormat }, nowMs = Date.now()): Promise<void> {
  if (o.step !== undefined && !(AUDIT_STEPS as readonly string[]).includes(o.step)) throw new UsageError(`--step must be one of ${AUDIT_STEPS.join(', ')}`);
  const ids = o.incident ? [o.incident] : (await queriesOf(t).recent(filterFrom(o, nowMs), nowMs)).map((s) => s.id);
  const entries: AuditEntry[] = [];
  for (const id of ids) entries.push(...(await timelineOf(t, id)).filter((e) => o.step === undefined || e.step === o.step));
  emit(o.output, entries, () => table(entries.map((e) => ({ incident: e.incidentId.slice(0, 12), at: e.at, step: e.step, outcome: e.outcome ?? '', headline: stepLine(e).headline })), ['incident', 'at', 'step', 'outcome', 'headline'], 120));
}

/** `report`: the incident view as one static HTML file, for a deployed stage (or the local run). */
export async function writeReport(t: Target, o: FilterOptions & { out: string }, nowMs = Date.now(), write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const filter = filterFrom(o, nowMs);
  const queries = queriesOf(t);
  const incidents = [];
  for (const summary of await queries.recent(filter, nowMs)) incidents.push({ summary, entries: await queries.timeline(summary.id) });
  writeFileSync(o.out, renderReport(incidents, filter, { title: `Incidents of ${t.describe}, ${new Date(nowMs).toISOString()}` }), { mode: 0o600 });
  write(`wrote ${o.out}: ${incidents.length} incident(s) with their timelines (redacted; open it in a browser)\n`);
}
