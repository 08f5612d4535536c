import type { AuditEntry, Notification } from '../domain/types.js';
import type { AuditLog } from '../ports/index.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';
import { incidentIdOf, parseQueueMessage } from './queue-message.js';

/**
 * A message that reached the dead-letter queue: the healer gave up on it, so a human must hear of
 * it, with the incident id and the last error the worker recorded. The body is untrusted text:
 * it is parsed, never acted on, and shown only redacted and bounded.
 */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receives?: number;
}

/** The step the worker audits when a message failed for the last time (read back here). */
export const LAST_FAILURE = 'last-failure';

export async function deadLetterPage(letter: DeadLetter, deps: { audit: AuditLog; cluster: string }): Promise<Notification> {
  const message = parseQueueMessage(letter.body);
  const incidentId = incidentIdOf(message);
  const incident = message.kind === 'incident' ? message.incident : undefined;
  let lastError: string | undefined;
  if (incidentId) {
    try {
      const entries = await deps.audit.listForIncident(incidentId);
      lastError = lastFailureOf(entries);
    } catch (error) {
      lastError = `(the audit trail could not be read: ${error instanceof Error ? error.message : String(error)})`;
    }
  }
  const what = message.kind === 'incident'
    ? `${message.incident.symptom} on ${message.incident.subject.kind} ${message.incident.subject.namespace}/${message.incident.subject.name}`
    : message.kind === 'verify'
      ? `the verification of an action (check ${message.request.attempt})`
      : 'a message it could not read';
  const body = [
    `The healer gave up on ${what}${incident ? ` (cluster ${incident.cluster})` : ''}: the message is in the dead-letter queue.`,
    'A human must look: the audit trail shows what was done before it failed.',
    incidentId ? `Incident ${incidentId}` : `No incident id: ${message.kind === 'invalid' ? message.error : ''}`,
    lastError ? `Last error: ${lastError}` : '',
    `Message ${letter.messageId}${letter.receives ? `, received ${letter.receives} times` : ''}`,
    message.kind === 'invalid' ? `Body (redacted, first 500 bytes): ${truncateBytes(redact(letter.body), 500)}` : '',
  ].filter((l) => l !== '');
  return {
    subject: truncateBytes(redact(`[k8s-healer] Healer failed, needs a human: ${incident ? `${incident.symptom} ${incident.subject.namespace}/${incident.subject.name}` : incidentId ?? 'unreadable message'}`), 99),
    body: truncateBytes(redact(body.join('\n')), 64 * 1024),
    severity: 'critical',
    outcome: 'action-failed',
    cluster: incident?.cluster ?? deps.cluster,
    namespace: incident?.subject.namespace ?? '',
    ...(incidentId ? { incidentId } : {}),
    ...(incident?.annotations.runbook_url ? { runbookUrl: incident.annotations.runbook_url } : {}),
  };
}

function lastFailureOf(entries: readonly AuditEntry[]): string | undefined {
  const failures = entries.filter((e) => e.step === 'outcome' && typeof e.detail[LAST_FAILURE] === 'string');
  const last = failures[failures.length - 1];
  return last ? String(last.detail[LAST_FAILURE]) : undefined;
}
