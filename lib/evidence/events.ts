import type { CoreV1Event } from '@kubernetes/client-node';
import type { EventEvidence } from '../domain/types.js';
import { eventCount, eventTimes } from '../domain/kube-objects.js';
import { redact } from './redact.js';

/**
 * Events as evidence, one way for everyone: the worker's evidence and the model's look-ups both
 * read them through lib/adapters/kube-reads.ts, which maps them here. Their times and counts come
 * from lib/domain/kube-objects.ts, which the scan's snapshot uses too.
 */

/** Event messages kept per event (after redaction). */
export const EVENT_MESSAGE_CHARS = 1024;

/**
 * One event as evidence about `object` ("Kind/name"). Reason and message are cluster text: they
 * pass the one redaction step here, before anything else sees them.
 */
export function eventEvidenceOf(e: CoreV1Event, object: string): EventEvidence {
  const { last, first } = eventTimes(e);
  const lastSeen = last ?? first;
  return {
    object,
    type: e.type ?? 'Normal',
    reason: redact(e.reason ?? ''),
    message: redact(e.message ?? '').slice(0, EVENT_MESSAGE_CHARS),
    count: eventCount(e) ?? 1,
    ...(lastSeen ? { lastSeen } : {}),
  };
}

/** Events, newest first (events without a time last). */
export const newestFirst = (events: readonly EventEvidence[]): EventEvidence[] => [...events].sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''));
