import type { Decision, Diagnosis, Incident, Notification } from '../domain/types.js';
import type { MetricPoint } from '../ports/metrics.js';

/**
 * Every metric the healer emits, built in one place so names and dimensions stay what the
 * template's alarms and dashboard (infra/observability.yml) and docs/operations.md say.
 * Dimensions are closed sets (symptoms, rules, action ids, outcomes); ids and object names go in
 * properties.
 */
export const METRIC = {
  incidents: 'Incidents',
  incidentsDeduplicated: 'IncidentsDeduplicated',
  decisions: 'Decisions',
  actions: 'Actions',
  notifications: 'Notifications',
  pages: 'Pages',
  notificationFailures: 'NotificationFailures',
  verifications: 'Verifications',
  modelRequests: 'ModelRequests',
  modelInputTokens: 'ModelInputTokens',
  modelOutputTokens: 'ModelOutputTokens',
  modelCostUsd: 'ModelCostUsd',
  modelFallbacks: 'ModelFallbacks',
  scanDuration: 'ScanDuration',
  scanObjects: 'ScanObjects',
  scanRequests: 'ScanRequests',
  scanFindings: 'ScanFindings',
  scanFailures: 'ScanFailures',
  requestFailures: 'RequestFailures',
} as const;

const where = (i: Incident) => (i.subject.namespace ? `${i.subject.namespace}/${i.subject.name}` : i.subject.name);

/** A new incident admitted to the queue (after dedup), by symptom and source. */
export function incidentAdmitted(incident: Incident): MetricPoint {
  return { name: METRIC.incidents, value: 1, dimensions: { Symptom: incident.symptom, Source: incident.source }, properties: { incidentId: incident.id, subject: `${incident.subject.kind}/${where(incident)}` } };
}

export function incidentsDeduplicated(source: Incident['source'], count: number): MetricPoint {
  return { name: METRIC.incidentsDeduplicated, value: count, dimensions: { Source: source } };
}

/** A policy decision by the rule that decided it: the first denying rule, or `allowed`. */
export function decisionMade(incident: Incident, decision: Pick<Decision, 'allowed' | 'deniedBy'>): MetricPoint {
  return { name: METRIC.decisions, value: 1, dimensions: { Rule: decision.allowed ? 'allowed' : (decision.deniedBy ?? 'unknown') }, properties: { incidentId: incident.id } };
}

export type ActionOutcome = 'applied' | 'dry-run' | 'refused' | 'failed';

/** A write through the gate: the action id, act or revert, and what became of it. */
export function actionWritten(incident: Incident, action: string, write: 'act' | 'revert', outcome: ActionOutcome): MetricPoint {
  return { name: METRIC.actions, value: 1, dimensions: { Action: action, Write: write, Outcome: outcome }, properties: { incidentId: incident.id } };
}

export function notificationSent(notification: Notification): MetricPoint[] {
  const sent: MetricPoint = { name: METRIC.notifications, value: 1, dimensions: { Severity: notification.severity, Outcome: notification.outcome } };
  // A page is what asks a human for something: anything but an informational note.
  return notification.severity === 'info' ? [sent] : [sent, { name: METRIC.pages, value: 1, dimensions: { Outcome: notification.outcome } }];
}

export function notificationFailed(notification: Notification): MetricPoint {
  return { name: METRIC.notificationFailures, value: 1, dimensions: { Severity: notification.severity } };
}

export type VerificationResult = 'ok' | 'failed' | 'reverted';

export function verificationJudged(incident: Incident, action: string, result: VerificationResult): MetricPoint {
  return { name: METRIC.verifications, value: 1, dimensions: { Result: result }, properties: { incidentId: incident.id, action } };
}

/** What one diagnosis spent at the model (its failed attempts included). */
export function modelSpend(usage: NonNullable<Diagnosis['usage']>, model: string | undefined): MetricPoint[] {
  const dimensions = { Model: model ?? 'unknown' };
  return [
    { name: METRIC.modelRequests, value: usage.requests ?? 1, dimensions },
    { name: METRIC.modelInputTokens, value: usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0), dimensions },
    { name: METRIC.modelOutputTokens, value: usage.outputTokens, dimensions },
    // No price on file: no cost sample at all rather than a silent $0 (as in lib/diagnose/cost.ts).
    ...(usage.costUsd === undefined ? [] : [{ name: METRIC.modelCostUsd, value: usage.costUsd, unit: 'None' as const, dimensions }]),
  ];
}

export type FallbackReason = 'no-model' | 'budget-spent' | 'budget-unreadable' | 'model-failed' | 'downgraded';

/** The runbook answered instead of the model, or the model's action became a page. */
export function modelFallback(reason: FallbackReason): MetricPoint {
  return { name: METRIC.modelFallbacks, value: 1, dimensions: { Reason: reason } };
}

export interface ScanFigures {
  readonly durationMs: number;
  readonly objects: number;
  readonly findings: number;
  /** The scan threw, or lists were missing (gaps) or detectors failed: its picture is incomplete. */
  readonly failed: boolean;
  /** Which cluster was scanned: a property, not a dimension, so the stack's alarms still sum every cluster. */
  readonly cluster?: string;
}

export function scanFinished(figures: ScanFigures): MetricPoint[] {
  const properties = figures.cluster === undefined ? {} : { properties: { cluster: figures.cluster } };
  return [
    { name: METRIC.scanDuration, value: figures.durationMs, unit: 'Milliseconds', ...properties },
    { name: METRIC.scanObjects, value: figures.objects, ...properties },
    { name: METRIC.scanFindings, value: figures.findings, ...properties },
    // 0 as well as 1: the alarm then tells a healthy scan from one that did not run.
    { name: METRIC.scanFailures, value: figures.failed ? 1 : 0, ...properties },
  ];
}

export function scanRequests(count: number): MetricPoint {
  return { name: METRIC.scanRequests, value: count };
}

/**
 * An HTTP function (webhook, approve) answered 500: its error was caught to answer the caller, so
 * Lambda's own Errors metric never sees it. The function is a property, not a dimension: one
 * alarm sums both.
 */
export function requestFailed(functionName: string): MetricPoint {
  return { name: METRIC.requestFailures, value: 1, properties: { function: functionName } };
}
