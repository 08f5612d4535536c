/**
 * A notification as one SNS Publish with `MessageStructure: 'json'`: SNS hands each subscription
 * the member named after its protocol, else `default`.
 *   email   plain text (people)
 *   https   Chatbot's custom notification (Chatbot subscribes with https; Slack, Teams)
 *   default the machine document, for sqs, lambda, http, email-json and anything else
 * Members are listed only once each (sqs and lambda fall back to default): the whole Message
 * counts against SNS's size limit, so a duplicate would halve the room for the page.
 *
 * Pure: the SNS adapter sends what this returns. Subject, body and attributes pass the one
 * redaction step here, at the exit, and the whole message is fitted inside SNS's limit by
 * cutting the page text (never the JSON), so what leaves is always valid JSON.
 */
import type { Notification } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';
import { chatbotNotification, pageDocument, pageFacts, type PageFacts } from './formats.js';
import { redactBody, wellFormed } from './safe-text.js';

/** SNS: "ASCII text ... no line breaks or control characters, and less than 100 characters". */
export const MAX_SUBJECT_CHARS = 99;
/** SNS caps a published message, its attributes included, at 256 KiB. */
export const MAX_SNS_MESSAGE_BYTES = 256 * 1024;
export const TRUNCATION_MARKER = '\n\n[truncated]';
const FALLBACK_SUBJECT = 'k8s-healer notification';
const MAX_ATTRIBUTE_CHARS = 256;
/** Room kept for what SNS may count beyond Message and attributes (the subject is at most 99). */
const MARGIN_BYTES = 1024;

/** Any string -> a subject SNS accepts: printable ASCII, single line, 1..99 chars, no leading space. */
export function sanitizeSubject(input: string): string {
  const ascii = input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents dropped after decomposition: "é" -> "e"
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (ascii.length === 0) return FALLBACK_SUBJECT;
  if (ascii.length <= MAX_SUBJECT_CHARS) return ascii;
  return `${ascii.slice(0, MAX_SUBJECT_CHARS - 3).trimEnd()}...`;
}

/** Cuts the text at a UTF-8 character boundary so text + marker stays within maxBytes. */
export function truncateBody(body: string, maxBytes: number): string {
  const text = body.length === 0 ? '(no details)' : body;
  return truncateBytes(text, maxBytes, TRUNCATION_MARKER);
}

/** The message attributes subscription filter policies match on; an empty value is left out (SNS refuses it). */
export function pageAttributes(facts: PageFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    severity: facts.severity,
    outcome: facts.outcome,
    cluster: facts.cluster,
    namespace: facts.namespace,
    action: facts.action,
    event: facts.eventAction,
  })) {
    if (value.length > 0) out[name] = value.slice(0, MAX_ATTRIBUTE_CHARS);
  }
  return out;
}

export interface SnsPage {
  readonly subject: string;
  /** The JSON object to publish with MessageStructure 'json'. */
  readonly message: string;
  readonly attributes: Readonly<Record<string, string>>;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The Message for a given page text. */
function structure(subject: string, text: string, facts: PageFacts): string {
  const chat = chatbotNotification(subject, text, facts);
  const document = pageDocument(subject, text, facts);
  return JSON.stringify({ default: JSON.stringify(document), email: document.text, https: JSON.stringify(chat) });
}

/**
 * The notification as SNS gets it. The page text is cut until the whole message fits: JSON
 * escaping (twice, for the members that are JSON themselves) makes the size depend on the
 * characters, so it is measured, not estimated. Each round cuts more; at zero only the marker
 * is left, and what surrounds it is bounded (subject, links, a chat excerpt), so it always fits.
 */
export function snsPage(n: Notification, limitBytes: number = MAX_SNS_MESSAGE_BYTES): SnsPage {
  const facts = pageFacts(n);
  // Redacted before the limits are applied: a cut could leave part of a secret unrecognised.
  const subject = sanitizeSubject(redact(n.subject));
  const attributes = pageAttributes(facts);
  const attributeBytes = Object.entries(attributes).reduce((sum, [k, v]) => sum + bytes(k) + bytes('String') + bytes(v), 0);
  const room = limitBytes - attributeBytes - MARGIN_BYTES;
  const full = wellFormed(redactBody(n.body));
  let budget = bytes(full.length === 0 ? '(no details)' : full);
  for (;;) {
    const message = structure(subject, truncateBody(full, budget), facts);
    const size = bytes(message);
    if (size <= room || budget === 0) return { subject, message, attributes };
    budget = Math.max(0, Math.min(budget - 1, Math.floor((budget * room) / size) - 256));
  }
}
