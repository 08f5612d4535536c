import type { Incident } from '../domain/types.js';
import { parseIncidentValue } from '../domain/incident-schema.js';
import { isVerificationMessage, parseVerificationRequest, type VerificationRequest } from '../domain/verification-schema.js';

/**
 * What a message on the incidents queue is. Queue messages are untrusted input (several roles
 * may send, and a body is only text): each is parsed whole before anything is read or done.
 */
export type QueueMessage =
  | { readonly kind: 'incident'; readonly incident: Incident }
  | { readonly kind: 'verify'; readonly request: VerificationRequest }
  | { readonly kind: 'invalid'; readonly error: string; readonly incidentId?: string };

export function parseQueueMessage(body: string): QueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'invalid', error: 'message body is not JSON' };
  }
  if (isVerificationMessage(value)) {
    const parsed = parseVerificationRequest(value);
    return parsed.ok ? { kind: 'verify', request: parsed.request } : { kind: 'invalid', error: `verification message: ${parsed.error}` };
  }
  const parsed = parseIncidentValue(value);
  return parsed.ok ? { kind: 'incident', incident: parsed.incident } : { kind: 'invalid', error: `incident message: ${parsed.error}` };
}

/** The incident a message is about, for pages and audit, when one can be told (bounded). */
export function incidentIdOf(message: QueueMessage): string | undefined {
  if (message.kind === 'incident') return message.incident.id;
  if (message.kind === 'verify') return message.request.incidentId;
  return undefined;
}
