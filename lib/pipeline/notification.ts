import type { ActionResult, Decision, Diagnosis, Evidence, Incident, Notification, Outcome } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';
import { isActionId } from '../actions/catalog.js';

const HEADLINE: Record<Outcome, string> = {
  acted: 'Healed',
  'dry-run': 'Would heal (dry run)',
  paged: 'Needs a human',
  'no-action': 'No action',
  'already-healthy': 'Already healthy',
  duplicate: 'Duplicate',
  'action-failed': 'Fix failed, needs a human',
  'awaiting-approval': 'Approval needed',
};

const SEVERITY: Record<Outcome, Notification['severity']> = {
  acted: 'info',
  'dry-run': 'info',
  paged: 'critical',
  'no-action': 'info',
  'already-healthy': 'info',
  duplicate: 'info',
  'action-failed': 'critical',
  'awaiting-approval': 'warning',
};

/** What on-call reads: what, where, why, what was done. Every cluster-derived string is redacted. */
export function buildNotification(input: {
  incident: Incident;
  evidence: Evidence;
  diagnosis: Diagnosis;
  decision: Decision;
  action: ActionResult | undefined;
  outcome: Outcome;
  /** A signed, single-use approval link for the proposed action, when it needs one. */
  approvalLink?: string | undefined;
}): Notification {
  const { incident, evidence, diagnosis, decision, action, outcome, approvalLink } = input;
  const where = `${incident.subject.namespace}/${incident.subject.name}`;
  const lines = [
    `${HEADLINE[outcome]}: ${incident.symptom} on ${incident.subject.kind} ${where} (cluster ${incident.cluster})`,
    '',
    `Diagnosis (${diagnosis.diagnoser}, confidence ${diagnosis.confidence.toFixed(2)}): ${diagnosis.summary}`,
    `Root cause: ${diagnosis.rootCause}`,
    `Recommended: ${diagnosis.recommendation}${diagnosis.target ? ` ${diagnosis.target.kind}/${diagnosis.target.name}` : ''}`,
    diagnosis.fallbackReason ? `Model not used: ${diagnosis.fallbackReason}` : '',
    decision.allowed
      ? decision.approvalRequired ? 'Policy: allowed, but this action needs a human\'s approval' : 'Policy: allowed'
      : `Policy: denied by ${decision.deniedBy ?? '?'}: ${decision.reason ?? ''}`,
    action ? `Action: ${action.action} ${action.target.kind}/${action.target.name}: ${action.ok ? 'ok' : 'FAILED'}, ${action.detail}${action.verified === undefined ? '' : action.verified ? ', verified' : ', NOT verified'}` : 'Action: none taken',
    '',
    `Owner chain: ${evidence.ownerChain.map((o) => `${o.kind}/${o.name}`).join(' <- ') || 'unknown'}`,
    ...evidence.containers.map(
      (c) => `Container ${c.name}: ready=${c.ready} restarts=${c.restartCount}${c.waitingReason ? ` waiting=${c.waitingReason}` : ''}${c.lastTermination ? ` last=${c.lastTermination.reason ?? '?'}(exit ${c.lastTermination.exitCode ?? '?'})` : ''}`,
    ),
    ...evidence.containers.filter((c) => c.previousLogTail).map((c) => `\nPrevious log of ${c.name} (tail):\n${c.previousLogTail?.split('\n').slice(-20).join('\n') ?? ''}`),
    // A Job's pod is replaced, not restarted: its own (current) log is the one that tells.
    ...evidence.containers.filter((c) => !c.previousLogTail && c.currentLogTail).map((c) => `\nLog of ${c.name} (tail):\n${c.currentLogTail?.split('\n').slice(-20).join('\n') ?? ''}`),
    evidence.gaps.length > 0 ? `\nCould not read: ${evidence.gaps.join('; ')}` : '',
    `\nIncident ${incident.id} (${incident.source}${incident.alertname ? `, ${incident.alertname}` : ''})`,
  ].filter((l) => l !== '');
  const about = action?.action ?? (isActionId(diagnosis.recommendation) ? diagnosis.recommendation : undefined);
  return {
    subject: `[k8s-healer] ${HEADLINE[outcome]}: ${incident.symptom} ${where}`,
    // The link is the healer's own (its token is high-entropy on purpose): added after redaction,
    // at the top, so neither redaction nor truncation can break it.
    body: approvalLink
      ? `Approve (single use, expires; opens a confirmation page first): ${approvalLink}\n\n${truncateBytes(redact(lines.join('\n')), 199 * 1024)}`
      : truncateBytes(redact(lines.join('\n')), 200 * 1024),
    severity: SEVERITY[outcome],
    outcome,
    cluster: incident.cluster,
    namespace: incident.subject.namespace,
    incidentId: incident.id,
    // Healed and already verified (a cordon, an eviction whose replacement is Ready, an approved
    // action): the incident ended healthy, so this closes any page about it. Anything short of a
    // verified fix leaves the page open.
    eventAction: outcome === 'acted' && action?.ok === true && action.verified === true ? 'resolve' : 'trigger',
    ...(about ? { action: about } : {}),
    ...(incident.annotations.runbook_url ? { runbookUrl: incident.annotations.runbook_url } : {}),
    ...(approvalLink ? { approvalUrl: approvalLink } : {}),
  };
}

/**
 * The short page for a protected or opted-out place: what was alerted and why the healer stays
 * out. No cluster text (logs, events, annotations) was read for it, so none can be in it.
 */
export function buildShelteredPage(incident: Incident, reason: string): Notification {
  const where = `${incident.subject.namespace ? `${incident.subject.namespace}/` : ''}${incident.subject.name}`;
  const body = [
    `${incident.symptom} on ${incident.subject.kind} ${where} (cluster ${incident.cluster}).`,
    `The healer does not handle it: ${reason}. No logs or events were read or sent; nothing was changed.`,
    `Incident ${incident.id} (${incident.source}${incident.alertname ? `, ${incident.alertname}` : ''})`,
  ].join('\n');
  return {
    subject: truncateBytes(redact(`[k8s-healer] Protected, needs a human: ${incident.symptom} ${where}`), 99),
    body: truncateBytes(redact(body), 8 * 1024),
    severity: 'warning',
    outcome: 'paged',
    cluster: incident.cluster,
    namespace: incident.subject.namespace,
    // No runbook link: this page is built from names alone, nothing of the alert's text.
    incidentId: incident.id,
  };
}
