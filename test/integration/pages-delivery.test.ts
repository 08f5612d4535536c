/**
 * Pages as their subscribers receive them, through real SNS subscriptions on moto: SQS queues
 * with the filter policies docs/operations.md recommends (raw delivery for the PagerDuty feed,
 * the SNS envelope for the rest), and an https subscriber standing in for AWS Chatbot (a local
 * TLS endpoint moto posts to, verifying its certificate). The pages are the pipeline's own, sent
 * by the real SNS notifier, next to a CloudWatch alarm (the stack's alarms share the topic and
 * carry no attributes): which messages arrive where, and what each body is.
 */
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, PublishCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../lib/adapters/sns-notifier.js';
import type { Decision, Notification } from '../../lib/domain/types.js';
import type { ChatbotNotification, PageDocument } from '../../lib/pages/formats.js';
import { buildNotification } from '../../lib/pipeline/notification.js';
import { withVersion } from '../../lib/wiring/notifier.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';
import { startHttpsCapture, type HttpsCapture } from '../support/https-capture.js';
import { motoUnavailable, pageDocumentIn, startMoto, type Moto } from '../support/moto.js';
import { mustRun } from '../support/process.js';

/** The filter policies of docs/operations.md ("Who gets which page"), verbatim. */
const FILTERS = {
  pagerduty: { $or: [{ severity: ['warning', 'critical'] }, { event: ['resolve'] }] },
  // People: every page that asks for a human, and the stack's CloudWatch alarms (no attributes).
  people: { $or: [{ severity: ['warning', 'critical'] }, { severity: [{ exists: false }] }] },
  alarmsOnly: { severity: [{ exists: false }] },
  approvals: { outcome: ['awaiting-approval'] },
  shopCritical: { namespace: ['shop'], severity: ['critical'] },
} as const;

const TOKEN = `${'ab12'.repeat(8)}.1764043200000.${'Hs7_aB-w3Z'.repeat(4)}Mm1`;
const APPROVAL = `https://healer.example.com/approve?token=${TOKEN}`;
const RUNBOOK = 'https://runbooks.example.com/kubernetes/KubeNodeNotReady';

const unavailable = motoUnavailable();

describe.skipIf(unavailable !== undefined && !mustRun())('pages through real SNS subscriptions', () => {
  let moto: Moto;
  let chatbot: HttpsCapture;
  let sns: SNSClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    chatbot = await startHttpsCapture();
    // moto posts to https subscribers with python requests: it trusts the capture's certificate only.
    moto = await startMoto({ env: { REQUESTS_CA_BUNDLE: chatbot.caFile } });
    sns = moto.sns();
    sqs = moto.sqs();
  });

  afterAll(async () => {
    await moto?.stop();
    await chatbot?.stop();
  });

  async function queueSubscribed(topicArn: string, name: string, attributes: Record<string, string>): Promise<string> {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${randomUUID()}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn, Attributes: attributes }));
    return QueueUrl ?? '';
  }

  async function drain(queueUrl: string, expectAtLeast: number): Promise<Message[]> {
    const out: Message[] = [];
    // Everything was published before this runs; one empty receive after the expected count ends it.
    for (let round = 0; round < 20; round++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
      out.push(...Messages);
      if (Messages.length === 0 && out.length >= expectAtLeast) break;
    }
    return out;
  }

  it('delivers each page to the subscribers whose filter matches, in each protocol\'s format', async () => {
    // Prepare: one topic; a PagerDuty feed (raw delivery), an approvals queue, a team queue, an
    // unfiltered archive (SNS envelope), and Chatbot (https).
    const { TopicArn: topicArn = '' } = await sns.send(new CreateTopicCommand({ Name: `oncall-${randomUUID()}` }));
    const pagerduty = await queueSubscribed(topicArn, 'pagerduty', { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(FILTERS.pagerduty) });
    const approvals = await queueSubscribed(topicArn, 'approvals', { FilterPolicy: JSON.stringify(FILTERS.approvals) });
    const shop = await queueSubscribed(topicArn, 'shop', { FilterPolicy: JSON.stringify(FILTERS.shopCritical) });
    const people = await queueSubscribed(topicArn, 'people', { FilterPolicy: JSON.stringify(FILTERS.people) });
    const alarms = await queueSubscribed(topicArn, 'alarms', { FilterPolicy: JSON.stringify(FILTERS.alarmsOnly) });
    const archive = await queueSubscribed(topicArn, 'archive', {});
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'https', Endpoint: chatbot.url }));
    const notifier = withVersion(new SnsNotifier({ topicArn, client: sns }));

    // The pipeline's pages for two incidents: a node that needs an approved cordon (asked, then
    // approved, done and verified at once: the resolve), and a crash loop that pages a human,
    // plus an info note of a dry run.
    const node = anIncident({
      id: 'local::Node:ip-10-0-3-17:NodeNotReady', symptom: 'NodeNotReady', subject: { kind: 'Node', name: 'ip-10-0-3-17', namespace: '' },
      annotations: { runbook_url: RUNBOOK },
    });
    const crash = anIncident({ id: 'local:shop:Pod:web-1:CrashLoopBackOff', subject: { kind: 'Pod', name: 'web-1', namespace: 'shop' }, annotations: { runbook_url: 'javascript:alert(1)' } });
    const note = anIncident({ id: 'local:blog:Pod:www-1:CrashLoopBackOff', subject: { kind: 'Pod', name: 'www-1', namespace: 'blog' } });
    const allowed: Decision = { allowed: true, dryRun: false, verdicts: [] };
    const cordon = anEvictDiagnosis(node, { recommendation: 'cordon-node', target: { kind: 'Node', name: 'ip-10-0-3-17' } });
    const pages: Notification[] = [
      buildNotification({ incident: node, evidence: evidenceFor(node), diagnosis: cordon, decision: { ...allowed, approvalRequired: true }, action: undefined, outcome: 'awaiting-approval', approvalLink: APPROVAL }),
      buildNotification({ incident: crash, evidence: evidenceFor(crash), diagnosis: anEvictDiagnosis(crash, { recommendation: 'page' }), decision: { ...allowed, allowed: false, deniedBy: 'confidence', reason: 'too unsure' }, action: undefined, outcome: 'paged' }),
      buildNotification({ incident: note, evidence: evidenceFor(note), diagnosis: anEvictDiagnosis(note), decision: { ...allowed, dryRun: true }, action: undefined, outcome: 'dry-run' }),
      buildNotification({
        incident: node, evidence: evidenceFor(node), diagnosis: cordon, decision: allowed, outcome: 'acted',
        action: { action: 'cordon-node', target: { kind: 'Node', name: 'ip-10-0-3-17' }, ok: true, detail: 'cordoned; the node is unschedulable', verified: true },
      }),
    ];

    // Act: the pages, and a CloudWatch alarm on the same topic (published plain, no attributes)
    for (const page of pages) await notifier.notify(page);
    await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: 'ALARM: "k8s-healer-prod-dead-letters" in EU (Ireland)', Message: JSON.stringify({ AlarmName: 'k8s-healer-prod-dead-letters', NewStateValue: 'ALARM' }) }));
    const [toPagerDuty, toPeople, toAlarms, toApprovals, toShop, archived] = await Promise.all([
      drain(pagerduty, 3), drain(people, 3), drain(alarms, 1), drain(approvals, 1), drain(shop, 1), drain(archive, 5),
    ]);

    // Assess: PagerDuty's feed has the approval request, the critical page and the resolve, not
    // the info note; raw delivery: the body is the machine document itself, attributes ride along.
    const feed = toPagerDuty.map((m) => JSON.parse(m.Body ?? '') as PageDocument);
    expect(feed.map((d) => [d.pagerduty.event_action, d.severity, d.outcome])).toEqual([
      ['trigger', 'warning', 'awaiting-approval'],
      ['trigger', 'critical', 'paged'],
      ['resolve', 'info', 'acted'],
    ]);
    expect(feed[2]?.pagerduty.dedup_key).toBe(feed[0]?.pagerduty.dedup_key);
    expect(feed[0]?.pagerduty.dedup_key).toBe(node.id);
    expect(feed[0]?.pagerduty.links).toEqual([{ href: RUNBOOK, text: 'Runbook' }, { href: APPROVAL, text: 'Approve or reject' }]);
    expect(feed[1]?.runbookUrl).toBeUndefined(); // javascript: dropped
    expect(feed[1]?.text).not.toContain('javascript');
    expect(feed[0]?.text.split('\n')[0]).toBe(`Approve (single use, expires; opens a confirmation page first): ${APPROVAL}`);
    expect(feed[0]?.text.endsWith(`\nRunbook: ${RUNBOOK}`)).toBe(true);
    expect(toPagerDuty[2]?.MessageAttributes?.event?.StringValue).toBe('resolve');
    expect(Object.keys(toPagerDuty[0]?.MessageAttributes ?? {}).sort()).toEqual(['action', 'cluster', 'event', 'outcome', 'severity']); // a Node has no namespace

    // People get what asks for a human (the approval, the critical page) and the alarm; the
    // alarms-only subscription (PagerDuty's CloudWatch integration) gets the alarm alone.
    expect(toPeople.map((m) => envelopeOf(m).page?.outcome ?? envelopeOf(m).subject)).toEqual(['awaiting-approval', 'paged', 'ALARM: "k8s-healer-prod-dead-letters" in EU (Ireland)']);
    expect(toAlarms.map((m) => envelopeOf(m).subject)).toEqual(['ALARM: "k8s-healer-prod-dead-letters" in EU (Ireland)']);

    // The approvals queue and the team's queue get only theirs, in the SNS envelope.
    expect(toApprovals.map((m) => envelopeOf(m).attributes.action)).toEqual(['cordon-node']);
    expect(toShop.map((m) => envelopeOf(m).page?.incidentId)).toEqual([crash.id]);
    expect(archived.map((m) => envelopeOf(m).attributes)).toEqual([
      { severity: 'warning', outcome: 'awaiting-approval', cluster: 'local', action: 'cordon-node', event: 'trigger' },
      { severity: 'critical', outcome: 'paged', cluster: 'local', namespace: 'shop', action: 'none', event: 'trigger' },
      { severity: 'info', outcome: 'dry-run', cluster: 'local', namespace: 'blog', action: 'evict-pod', event: 'trigger' },
      { severity: 'info', outcome: 'acted', cluster: 'local', action: 'cordon-node', event: 'resolve' },
      {},
    ]);

    // Chatbot (https) gets its custom notification, one thread per incident.
    const chats = chatbot.posts.slice(0, 4).map((p) => JSON.parse((JSON.parse(p.body) as { Message: string }).Message) as ChatbotNotification);
    expect(chatbot.posts).toHaveLength(5); // and the alarm, as CloudWatch wrote it (Chatbot renders those itself)
    expect(chats).toHaveLength(4);
    expect(chats.map((c) => [c.version, c.source, c.content.textType])).toEqual(Array(4).fill(['1.0', 'custom', 'client-markdown']));
    expect(chats[3]?.metadata.threadId).toBe(chats[0]?.metadata.threadId);
    expect(chats[0]?.content.title.startsWith('🟠')).toBe(true);
    expect(chats[3]?.content.title.startsWith('✅')).toBe(true);
    expect(chats[0]?.content.nextSteps).toEqual([`Approve or reject (single use; opens a confirmation page first): ${APPROVAL}`, `Runbook: ${RUNBOOK}`]);
    expect(chats[1]?.content.description).toContain('Needs a human: CrashLoopBackOff on Pod shop/web-1');
  });
});

function envelopeOf(m: Message): { subject: string | undefined; attributes: Record<string, string>; page: PageDocument | undefined } {
  const envelope = JSON.parse(m.Body ?? '{}') as { Subject?: string; Message: string; MessageAttributes?: Record<string, { Value: string }> };
  const attributes = Object.fromEntries(Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]));
  return { subject: envelope.Subject, attributes, page: pageDocumentIn(envelope.Message) };
}
