/**
 * The local run's console, in words: what was detected, what the diagnosis said, what policy
 * decided and what was done, one incident at a time. Pure; the text it is given is already the
 * pipeline's (redacted) text, and each line is cut so one incident never floods the terminal.
 */
import type { Incident, ObjectRef } from '../domain/types.js';
import type { RemediationReport } from '../pipeline/remediate.js';

const MAX_LINE = 200;
const cut = (s: string) => (s.length > MAX_LINE ? `${s.slice(0, MAX_LINE - 1)}…` : s);
const ref = (o: ObjectRef) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

export function incidentStory(incident: Incident, report: RemediationReport): string[] {
  const lines = [`detected   ${incident.symptom} on ${ref(incident.subject)} (${incident.source === 'scan' ? 'scan' : `alert ${incident.alertname ?? ''}`.trim()})`];
  const d = report.diagnosis;
  if (d) lines.push(`diagnosis  ${d.category} (${d.diagnoser}, confidence ${d.confidence.toFixed(2)}): ${d.summary}`);
  const decision = report.decision;
  if (decision) {
    const rules = decision.verdicts.length;
    if (!decision.allowed) lines.push(`policy     denied by ${decision.deniedBy ?? '?'}: ${decision.reason ?? ''}`);
    else if (decision.approvalRequired) lines.push(`policy     allowed by ${rules} rules, needs a human's approval`);
    else lines.push(`policy     allowed by all ${rules} rules${decision.dryRun ? ' (dry run: not executed)' : ''}`);
  }
  const action = report.action;
  if (action) {
    lines.push(`action     ${action.action} on ${ref(action.target)}: ${action.ok ? 'done' : 'FAILED'} (${action.detail})`);
    if (action.ok) lines.push(`verified   ${action.verified === true ? 'yes: the intended outcome is seen' : action.verified === false ? 'NO: the outcome was not reached' : 'not yet: re-checked later'}`);
  }
  lines.push(`outcome    ${report.outcome} — incident ${report.incidentId}`);
  return lines.map(cut);
}
