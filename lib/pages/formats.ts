/**
 * One notification, three bodies: plain text for people reading mail, AWS Chatbot's custom
 * notification for Slack and Teams, and a JSON document for machines that carries a PagerDuty
 * Events API v2 event (without the routing key, which the forwarder adds). Pure functions of
 * the notification and the (already redacted, already cut) page text.
 *
 * Chatbot: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
 * (version "1.0", source "custom"; Chatbot drops any other message without an error).
 * PagerDuty: Events API v2 (event_action trigger|resolve, dedup_key at most 255 characters,
 * payload.summary at most 1024, payload.severity critical|error|warning|info).
 */
import { createHash } from 'node:crypto';
import type { ActionId, Notification, Outcome } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';
import { approvalLinkOf, neutralizeChat, safeRunbookUrl } from './safe-text.js';

export type EventAction = 'trigger' | 'resolve';

/** What a page says about itself, for filters and for machines; every string redacted. */
export interface PageFacts {
  readonly eventAction: EventAction;
  readonly dedupKey: string;
  readonly incidentId?: string;
  readonly severity: Notification['severity'];
  readonly outcome: Outcome;
  readonly action: ActionId | 'none';
  readonly cluster: string;
  readonly namespace: string;
  readonly runbookUrl?: string;
  readonly approvalUrl?: string;
}

const DEDUP_KEY_MAX = 255;

/**
 * The key a follow-up shares with the page it follows: the incident id when it fits PagerDuty's
 * 255 characters, else a digest of it (the same id always gives the same key). A message with no
 * incident id (an unreadable dead letter) is keyed by its own subject and body.
 */
export function dedupKeyOf(n: Pick<Notification, 'incidentId' | 'subject' | 'body'>): string {
  if (n.incidentId !== undefined && n.incidentId !== '') {
    const id = redact(n.incidentId);
    return id.length <= DEDUP_KEY_MAX ? id : `k8s-healer:sha256:${createHash('sha256').update(id).digest('hex')}`;
  }
  return `k8s-healer:message:${createHash('sha256').update(`${n.subject}\n${n.body}`).digest('hex')}`;
}

export function pageFacts(n: Notification): PageFacts {
  const runbookUrl = safeRunbookUrl(n.runbookUrl);
  const approvalUrl = approvalLinkOf(n.approvalUrl);
  // A resolve needs the incident it closes; without one it is a plain message.
  const eventAction: EventAction = n.eventAction === 'resolve' && n.incidentId ? 'resolve' : 'trigger';
  return {
    eventAction,
    dedupKey: dedupKeyOf(n),
    ...(n.incidentId ? { incidentId: redact(n.incidentId) } : {}),
    severity: n.severity,
    outcome: n.outcome,
    action: n.action ?? 'none',
    cluster: redact(n.cluster),
    namespace: redact(n.namespace),
    ...(runbookUrl ? { runbookUrl } : {}),
    ...(approvalUrl ? { approvalUrl } : {}),
  };
}

/** The mail body: the page text, then the runbook (after the cut, so it is never cut off). */
export function plainText(text: string, facts: PageFacts): string {
  return facts.runbookUrl ? `${text}\nRunbook: ${facts.runbookUrl}` : text;
}

export interface ChatbotNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: readonly string[];
    readonly keywords: readonly string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly additionalContext: Readonly<Record<string, string>>;
  };
}

/** A chat message is for a glance: the first part of the page; mail and machines get all of it. */
export const CHAT_TEXT_MAX_BYTES = 2_800;
const ICON: Record<Notification['severity'] | 'resolve', string> = { resolve: '✅', critical: '🔴', warning: '🟠', info: 'ℹ️' };

/**
 * Chatbot's custom notification. Cluster text only ever appears neutralised (no links, mentions
 * or markup of its own) and inside code (no auto-links either); the only links are the healer's
 * approval link and a checked runbook URL, in nextSteps. One thread per incident (threadId).
 */
export function chatbotNotification(subject: string, text: string, facts: PageFacts): ChatbotNotification {
  const headline = neutralizeChat(subject.replace(/^\[k8s-healer\]\s*/, ''));
  const shown = truncateBytes(neutralizeChat(text), CHAT_TEXT_MAX_BYTES, '\n[… the whole page went by mail and to the machine subscribers]');
  const nextSteps = [
    ...(facts.approvalUrl ? [`Approve or reject (single use; opens a confirmation page first): ${facts.approvalUrl}`] : []),
    ...(facts.runbookUrl ? [`Runbook: ${facts.runbookUrl}`] : []),
  ];
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: `${ICON[facts.eventAction === 'resolve' ? 'resolve' : facts.severity]} \`${headline}\``,
      description: [
        `Severity: ${facts.severity} · Outcome: ${facts.outcome} · Action: ${facts.action}${facts.eventAction === 'resolve' ? ' · Resolves the earlier page' : ''}`,
        '```',
        shown,
        '```',
      ].join('\n'),
      ...(nextSteps.length > 0 ? { nextSteps } : {}),
      keywords: ['k8s-healer', facts.severity, facts.outcome, facts.action],
    },
    metadata: {
      threadId: neutralizeChat(facts.dedupKey),
      summary: headline,
      eventType: `k8s-healer.${facts.eventAction}`,
      additionalContext: {
        ...(facts.incidentId ? { incidentId: neutralizeChat(facts.incidentId) } : {}),
        eventAction: facts.eventAction,
        severity: facts.severity,
        outcome: facts.outcome,
        action: facts.action,
        cluster: neutralizeChat(facts.cluster),
        ...(facts.namespace ? { namespace: neutralizeChat(facts.namespace) } : {}),
      },
    },
  };
}

/** An Events API v2 event minus routing_key; every member is always present, so a template can copy it. */
export interface PagerDutyEvent {
  readonly event_action: EventAction;
  readonly dedup_key: string;
  readonly payload: {
    readonly summary: string;
    readonly source: string;
    readonly severity: 'critical' | 'warning' | 'info';
    readonly component: string;
    readonly group: string;
    readonly class: string;
    readonly custom_details: Readonly<Record<string, string>>;
  };
  readonly links: readonly { readonly href: string; readonly text: string }[];
}

export function pagerDutyEvent(subject: string, facts: PageFacts): PagerDutyEvent {
  return {
    event_action: facts.eventAction,
    dedup_key: facts.dedupKey,
    payload: {
      summary: subject.slice(0, 1024),
      source: `k8s-healer/${facts.cluster}`.slice(0, 255),
      severity: facts.severity,
      component: facts.namespace || facts.cluster,
      group: facts.cluster,
      class: facts.outcome,
      custom_details: {
        ...(facts.incidentId ? { incidentId: facts.incidentId } : {}),
        outcome: facts.outcome,
        action: facts.action,
      },
    },
    links: [
      ...(facts.runbookUrl ? [{ href: facts.runbookUrl, text: 'Runbook' }] : []),
      ...(facts.approvalUrl ? [{ href: facts.approvalUrl, text: 'Approve or reject' }] : []),
    ],
  };
}

/** The document machines get (SQS, Lambda, HTTP, email-json): the facts, the whole text, the PagerDuty event. */
export interface PageDocument extends PageFacts {
  readonly schema: 'k8s-healer.page/v1';
  readonly subject: string;
  readonly text: string;
  readonly pagerduty: PagerDutyEvent;
}

export const PAGE_SCHEMA = 'k8s-healer.page/v1';

export function pageDocument(subject: string, text: string, facts: PageFacts): PageDocument {
  return { schema: PAGE_SCHEMA, ...facts, subject, text: plainText(text, facts), pagerduty: pagerDutyEvent(subject, facts) };
}
