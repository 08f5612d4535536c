/**
 * `replay <alertmanager.json>`: what the healer would do with this payload. The real intake maps
 * each alert (or names why it skips it); with a cluster, each incident's placement is checked,
 * its evidence read, the runbook diagnoses (the model is never asked: nothing leaves), and the
 * real policy decides against the live cooldowns and counters. Nothing is written anywhere.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type HealerConfig } from '../config/config.js';
import { parseAlertmanagerBody } from '../intake/alertmanager.js';
import { alertsToIncidents } from '../intake/incidents.js';
import { runbookDiagnoser } from '../diagnose/runbook.js';
import { injectionMarkersOf } from '../evidence/injection.js';
import { decideOnce, shelteredBy } from '../pipeline/remediate.js';
import { workerDeps } from '../wiring/worker.js';
import { perCluster } from '../wiring/clusters.js';
import type { Incident } from '../domain/types.js';
import { emit, table, type OutputFormat } from './output.js';
import { UsageError } from './target.js';

export interface ReplayRow {
  readonly alert: string;
  readonly incident?: string;
  readonly subject?: string;
  readonly would: string;
  readonly why: string;
}

/** The intake's answer per alert: an incident, or the skip reason. Pure over the file's text. */
export function replayIntake(text: string, config: Pick<HealerConfig, 'clusters' | 'settings'>, nowIso: string): { incidents: Incident[]; rows: ReplayRow[] } {
  const parsed = parseAlertmanagerBody(text, { maxBytes: config.settings.intake.maxBodyBytes, maxAlerts: config.settings.intake.maxAlertsPerPayload });
  if (!parsed.ok) throw new UsageError(`not an Alertmanager webhook payload: ${parsed.error}`);
  const mapped = alertsToIncidents(parsed.payload.alerts, { clusters: config.clusters.map((c) => c.name), nowIso, mappings: config.settings.intake.alertMappings });
  const rows: ReplayRow[] = mapped.skipped.map((why) => ({ alert: why.split(':')[0] ?? '', would: 'skip', why }));
  return { incidents: [...mapped.incidents], rows };
}

export async function replay(file: string, o: { cluster: boolean; output: OutputFormat }, nowMs = Date.now()): Promise<ReplayRow[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  // Dry run whatever the environment says: replay decides, it never acts.
  const config = loadConfig({ ...process.env, HEALER_DRY_RUN: 'true' });
  const { incidents, rows } = replayIntake(text, config, new Date(nowMs).toISOString());
  // Each incident is read from its own cluster (routed by the intake), with that cluster's policy.
  const depsFor = o.cluster ? perCluster(config, (own) => workerDeps(own, { diagnoser: runbookDiagnoser })) : undefined;
  const noAudit = () => Promise.resolve();
  for (const incident of incidents) {
    const base = { alert: incident.alertname ?? incident.symptom, incident: incident.id, subject: `${incident.subject.kind} ${incident.subject.namespace}/${incident.subject.name}` };
    if (!depsFor) {
      rows.push({ ...base, would: 'enqueue', why: `${incident.symptom} incident (no cluster read: --no-cluster)` });
      continue;
    }
    const deps = await depsFor(incident.cluster);
    const placement = await deps.reader.placementOf(incident);
    const sheltered = shelteredBy(incident, placement, deps.settings.policy.deniedNamespaces);
    if (sheltered && !deps.settings.policy.diagnoseProtected) {
      rows.push({ ...base, would: 'page', why: `protected place, nothing read: ${sheltered}` });
      continue;
    }
    const evidence = await deps.reader.gatherEvidence(incident, { placement });
    const diagnosis = await runbookDiagnoser.diagnose(incident, evidence);
    const { decision, plan } = await decideOnce({ incident, evidence, diagnosis, injectionMarkers: injectionMarkersOf(incident, evidence) }, deps, noAudit);
    rows.push({
      ...base,
      would: decision.allowed && plan ? `${decision.approvalRequired ? 'ask approval for ' : ''}${plan.summary}` : diagnosis.recommendation === 'none' ? 'nothing' : 'page',
      why: decision.allowed ? `${diagnosis.category}: ${diagnosis.summary}` : `${decision.deniedBy ?? ''}: ${decision.reason ?? ''}`,
    });
  }
  emit(o.output, rows, () => table(rows as unknown as Record<string, string>[], ['alert', 'subject', 'would', 'why'], 100));
  return rows;
}
