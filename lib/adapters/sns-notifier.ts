/**
 * Notifier on SNS. Subject and body come partly from cluster text (names, alert annotations), so
 * both are forced inside SNS's limits here instead of trusting callers: a rejected Publish would
 * lose the page entirely. For the same reason they pass through the redaction step once more
 * before they leave (defence in depth: the pages are built redacted, but a page is an exit).
 */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import type { Notifier } from '../ports/index.js';
import { snsClient } from './aws-clients.js';

export interface SnsNotifierOptions {
  readonly topicArn: string;
  readonly client?: SNSClient;
}

/** SNS: "ASCII text ... no line breaks or control characters, and less than 100 characters". */
export const MAX_SUBJECT_CHARS = 99;
/** SNS caps a message (body + attributes) at 256 KiB; the rest of the margin is for attributes. */
export const MAX_BODY_BYTES = 256 * 1024 - 8 * 1024;
export const TRUNCATION_MARKER = '\n\n[truncated]';
const FALLBACK_SUBJECT = 'k8s-healer notification';
const MAX_ATTRIBUTE_CHARS = 256;

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

/** Cuts the body at a UTF-8 character boundary so body + marker stays within maxBytes. */
export function truncateBody(body: string, maxBytes: number = MAX_BODY_BYTES): string {
  const text = body.length === 0 ? '(no details)' : body;
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(TRUNCATION_MARKER, 'utf8');
  let used = 0;
  let end = 0;
  // Walk code points (not UTF-16 units) so a surrogate pair is never split.
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (used + size > budget) break;
    used += size;
    end += char.length;
  }
  return text.slice(0, end) + TRUNCATION_MARKER;
}

/**
 * The line lib/pipeline/notification.ts puts first on a page that needs approval: the healer's own
 * link, whose signed token is high-entropy on purpose and would be masked. Only that exact shape,
 * only at the very start (cluster text never comes first); the URL before the token is redacted.
 */
const APPROVAL_LINE = /^(Approve \([^\n)]{0,80}\): )(https?:\/\/[^\s]{1,1024}?[?&]token=)([a-f0-9]{32}\.[0-9]{1,16}\.[A-Za-z0-9_-]{43})(?=\n|$)/;

/** The body as it is published: redacted, except for the approval link at its start. */
export function redactBody(body: string): string {
  const m = APPROVAL_LINE.exec(body);
  if (m === null) return redact(body);
  return `${m[1] ?? ''}${redact(m[2] ?? '')}${m[3] ?? ''}${redact(body.slice(m[0].length))}`;
}

function attribute(value: string): MessageAttributeValue | undefined {
  // SNS rejects empty String attributes; cluster-scoped incidents have no namespace.
  if (value.length === 0) return undefined;
  return { DataType: 'String', StringValue: value.slice(0, MAX_ATTRIBUTE_CHARS) };
}

export class SnsNotifier implements Notifier {
  private readonly topicArn: string;
  private readonly client: SNSClient;

  constructor(options: SnsNotifierOptions) {
    this.topicArn = options.topicArn;
    this.client = options.client ?? snsClient();
  }

  async notify(notification: Notification): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries({
      severity: notification.severity,
      outcome: notification.outcome,
      cluster: notification.cluster,
      namespace: notification.namespace,
    })) {
      const attr = attribute(redact(value));
      if (attr !== undefined) attributes[name] = attr;
    }
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        // Redacted before the limits are applied: a cut could leave part of a secret unrecognised.
        Subject: sanitizeSubject(redact(notification.subject)),
        Message: truncateBody(redactBody(notification.body)),
        MessageAttributes: attributes,
      }),
    );
  }
}
