/**
 * The SQS queue, SNS notifier and SSM secrets adapters against a real moto server; notifications
 * are read back through a real SNS -> SQS subscription. Subject/body limits are also checked as
 * properties over arbitrary input.
 */
import { randomUUID } from 'node:crypto';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../lib/adapters/console-notifier.js';
import { clearSecretCache, readSecret } from '../../lib/adapters/secrets.js';
import { SnsNotifier } from '../../lib/adapters/sns-notifier.js';
import { MAX_SNS_MESSAGE_BYTES, MAX_SUBJECT_CHARS, sanitizeSubject, truncateBody } from '../../lib/pages/sns-message.js';
import { chunkIncidents, EnqueueError, SqsIncidentQueue } from '../../lib/adapters/sqs-queue.js';
import type { Incident, Notification } from '../../lib/domain/types.js';
import { mustRun } from '../support/process.js';
import { createTopicWithInbox, motoUnavailable, startMoto, type Moto } from '../support/moto.js';

function incident(n: number, extra: Partial<Incident> = {}): Incident {
  return {
    id: `local:default:Pod:web-${n}:CrashLoopBackOff`,
    cluster: 'local',
    source: 'alertmanager',
    symptom: 'CrashLoopBackOff',
    subject: { kind: 'Pod', name: `web-${n}`, namespace: 'default' },
    alertname: 'KubePodCrashLooping',
    severity: 'warning',
    labels: { pod: `web-${n}`, note: 'ünïcode ✓' },
    annotations: { description: `pod web-${n} is crash looping\nline two` },
    detectedAt: '2025-06-01T12:00:00.000Z',
    ...extra,
  };
}

const isValidSubject = (s: string) =>
  s.length >= 1 && s.length <= MAX_SUBJECT_CHARS && /^[\x21-\x7e][\x20-\x7e]*$/.test(s);

describe('SNS limits as properties (no server needed)', () => {
  it('turns any string into a subject SNS accepts', () => {
    // Prepare / Act / Assess: arbitrary strings including lone surrogates, controls and newlines.
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 })), (input) => {
        expect(isValidSubject(sanitizeSubject(input))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a readable subject readable', () => {
    // Act + Assess
    expect(sanitizeSubject('  [critical] Pod  café/web-1\nrestarted\t ')).toBe('[critical] Pod cafe/web-1 restarted');
    expect(sanitizeSubject('\n\n')).toBe('k8s-healer notification');
    expect(sanitizeSubject('x'.repeat(500))).toMatch(/^x{96}\.\.\.$/);
  });

  it('truncates any body to the byte budget at a character boundary, marking the cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 32, max: 600 }), (body, budget) => {
        // Act
        const out = truncateBody(body, budget);

        // Assess: within budget, no broken surrogate introduced, and marked iff it was cut.
        const wasCut = Buffer.byteLength(body.length === 0 ? '(no details)' : body, 'utf8') > budget;
        expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(Math.max(budget, 0));
        expect(out.endsWith('[truncated]')).toBe(wasCut);
        if (wasCut) expect(body.startsWith(out.slice(0, out.length - '\n\n[truncated]'.length))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('splits incidents into batches of at most 10 entries and 256 KiB, rejecting one that alone is too big', () => {
    // Prepare
    const big = 'z'.repeat(60 * 1024);
    const small = Array.from({ length: 25 }, (_, i) => incident(i));
    const large = Array.from({ length: 9 }, (_, i) => incident(i, { annotations: { big } }));

    // Act
    const bySmall = chunkIncidents(small).map((c) => c.length);
    const byLarge = chunkIncidents(large).map((c) => c.length);

    // Assess
    expect(bySmall).toEqual([10, 10, 5]);
    expect(byLarge).toEqual([4, 4, 1]);
    expect(() => chunkIncidents([incident(1, { annotations: { big: 'z'.repeat(300 * 1024) } })])).toThrow(EnqueueError);
  });
});

describe('ConsoleNotifier', () => {
  it('writes one JSON line per notification', async () => {
    // Prepare
    const lines: string[] = [];
    const notifier = new ConsoleNotifier((line) => lines.push(line));
    const n: Notification = { subject: 's', body: 'a\nb', severity: 'info', outcome: 'dry-run', cluster: 'c', namespace: 'ns' };

    // Act
    await notifier.notify(n);

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ kind: 'notification', subject: 's', text: 'a\nb', severity: 'info', outcome: 'dry-run', cluster: 'c', namespace: 'ns', attributes: { outcome: 'dry-run' } });
  });

  it('writes nothing raw: a secret in any field of the notification is redacted on the line', async () => {
    // Prepare
    const lines: string[] = [];
    const notifier = new ConsoleNotifier((line) => lines.push(line));
    const password = 'q9X3kLmZpR2';
    const secret = `postgres://app:${password}@db:5432/app`;
    const n: Notification = {
      subject: `crash ${secret}`,
      body: `connect ${secret}`,
      severity: 'critical',
      outcome: 'paged',
      cluster: `c ${secret}`,
      namespace: `ns ${secret}`,
      incidentId: `id ${secret}`,
      runbookUrl: `https://runbooks.example.com/db?dsn=${secret}`,
    };

    // Act
    await notifier.notify(n);

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(password);
    expect(JSON.parse(lines[0] ?? '')).not.toHaveProperty('body');
  });

  it('adds the text a mail subscriber reads: redacted, with a checked runbook link', async () => {
    // Prepare
    const lines: string[] = [];
    const notifier = new ConsoleNotifier((line) => lines.push(line));
    const base: Notification = { subject: 's', body: 'connect postgres://app:q9X3kLmZpR2@db:5432/app', severity: 'critical', outcome: 'paged', cluster: 'c', namespace: 'ns' };

    // Act
    await notifier.notify({ ...base, runbookUrl: 'https://runbooks.example.com/db' });
    await notifier.notify({ ...base, runbookUrl: 'javascript:alert(1)' });

    // Assess
    const [good, bad] = lines.map((l) => JSON.parse(l) as { text: string });
    expect(good?.text).toBe('connect postgres://app:[REDACTED]@db:5432/app\nRunbook: https://runbooks.example.com/db');
    expect(bad?.text).toBe('connect postgres://app:[REDACTED]@db:5432/app');
  });
});

const unavailable = motoUnavailable();

describe.skipIf(unavailable !== undefined && !mustRun())('SQS, SNS and SSM adapters on moto', () => {
  let moto: Moto;
  let sqs: SQSClient;
  let sns: SNSClient;
  let ssm: SSMClient;

  beforeAll(async () => {
    moto = await startMoto();
    console.info(`moto ready in ${moto.startMs} ms at ${moto.endpoint}`);
    sqs = moto.sqs();
    sns = moto.sns();
    ssm = moto.ssm();
  });

  afterAll(async () => {
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
  });

  it('delivers a batch of 25 incidents, each as its JSON', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `incidents-${randomUUID()}` }));
    const queue = new SqsIncidentQueue({ queueUrl: QueueUrl ?? '', client: sqs });
    const incidents = Array.from({ length: 25 }, (_, i) => incident(i));

    // Act
    await queue.enqueue(incidents);
    const received: Incident[] = [];
    for (let i = 0; i < 10 && received.length < 25; i++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      received.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as Incident));
    }

    // Assess
    expect(received).toHaveLength(25);
    expect([...received].sort((a, b) => a.id.localeCompare(b.id))).toEqual([...incidents].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('fails loudly when SQS rejects the batch', async () => {
    // Prepare: a FIFO queue needs a MessageGroupId, which this adapter does not send.
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `incidents-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true' } }));
    const queue = new SqsIncidentQueue({ queueUrl: QueueUrl ?? '', client: sqs });

    // Act + Assess
    await expect(queue.enqueue([incident(1)])).rejects.toThrow(/MessageGroupId/);
  });

  it('publishes a huge notification truncated, with a clean subject and its attributes, through a subscription', async () => {
    // Prepare
    const inbox = await createTopicWithInbox(sns, sqs, `oncall-${randomUUID()}`);
    const notifier = new SnsNotifier({ topicArn: inbox.topicArn, client: sns });
    const body = `evidence follows\n${'log line ✓ '.repeat(100_000)}`;
    // The same body published as-is is refused: the truncation is what makes the page go out.
    await expect(sns.send(new PublishCommand({ TopicArn: inbox.topicArn, Message: body }))).rejects.toThrow(/too long/i);

    // Act
    await notifier.notify({
      subject: `[critical] web-1 in shop\nCrashLoopBackOff ${'!'.repeat(200)}`,
      body,
      severity: 'critical',
      outcome: 'paged',
      cluster: 'prod-eu',
      namespace: 'shop',
    });
    const [received, ...extra] = await inbox.receive(1);

    // Assess
    expect(extra).toHaveLength(0);
    expect(received?.subject).toBeDefined();
    expect(isValidSubject(received?.subject ?? '')).toBe(true);
    expect(received?.subject).toMatch(/^\[critical\] web-1 in shop CrashLoopBackOff !+\.\.\.$/);
    expect(received?.message.startsWith('evidence follows\nlog line ✓ ')).toBe(true);
    expect(received?.message.endsWith('[truncated]')).toBe(true);
    expect(Buffer.byteLength(received?.raw ?? '', 'utf8')).toBeLessThanOrEqual(MAX_SNS_MESSAGE_BYTES);
    expect(received?.attributes).toEqual({ severity: 'critical', outcome: 'paged', cluster: 'prod-eu', namespace: 'shop', action: 'none', event: 'trigger' });
  });

  it('publishes subject and body redacted once more, keeping the approval link at the top working', async () => {
    // Prepare: a page that still holds secrets (as if a step had built it without redacting), and
    // the healer's own approval link, whose signed token must survive
    const inbox = await createTopicWithInbox(sns, sqs, `oncall-${randomUUID()}`);
    const notifier = new SnsNotifier({ topicArn: inbox.topicArn, client: sns });
    const token = `${'ab12'.repeat(8)}.1764043200000.${'Hs7_aB-w3Z'.repeat(4)}Mm1`;
    const link = `https://healer.example.com/approve?token=${token}`;
    const secrets = ['q9X/3kLm+ZpR2', 'Xk2pQ9vL', 'hunter2hunter2', 'Rq8Lm3Zx'];

    // Act
    await notifier.notify({
      subject: '[k8s-healer] Needs a human: CrashLoopBackOff shop/web --db-password Xk2pQ9vL',
      body: [
        `Approve (single use, expires; opens a confirmation page first): ${link}`,
        '',
        'Previous log of web (tail):',
        'FATAL: could not connect to postgres://app:q9X/3kLm+ZpR2@db.shop.svc:5432/app',
        '+ redis-cli -h cache -a hunter2hunter2 ping',
        '{"name":"DB_PASSWORD","value":"Rq8Lm3Zx"}',
      ].join('\n'),
      severity: 'warning',
      outcome: 'awaiting-approval',
      cluster: 'prod-eu',
      namespace: 'shop',
    });
    const [received] = await inbox.receive(1);

    // Assess
    const published = `${received?.subject ?? ''}\n${received?.message ?? ''}`;
    for (const secret of secrets) expect(published, `${secret} was published`).not.toContain(secret);
    expect(received?.subject).toBe('[k8s-healer] Needs a human: CrashLoopBackOff shop/web --db-password [REDACTED]');
    expect(received?.message.split('\n')[0]).toBe(`Approve (single use, expires; opens a confirmation page first): ${link}`);
    expect(received?.message).toContain('postgres://app:[REDACTED]@db.shop.svc:5432/app');
  });

  it('publishes a cluster-scoped notification without an empty namespace attribute', async () => {
    // Prepare
    const inbox = await createTopicWithInbox(sns, sqs, `oncall-${randomUUID()}`);
    const notifier = new SnsNotifier({ topicArn: inbox.topicArn, client: sns });

    // Act
    await notifier.notify({ subject: 'node not ready', body: '', severity: 'warning', outcome: 'no-action', cluster: 'c', namespace: '' });
    const [received] = await inbox.receive(1);

    // Assess
    expect(received?.attributes).toEqual({ severity: 'warning', outcome: 'no-action', cluster: 'c', action: 'none', event: 'trigger' });
    expect(received?.message).toBe('(no details)');
  });

  it('reads a SecureString from SSM and caches it for the TTL', async () => {
    // Prepare
    clearSecretCache();
    const name = `/k8s-healer/test/${randomUUID()}`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'first', Overwrite: true }));
    const now = Date.now();

    // Act
    const first = await readSecret(name, { client: ssm, nowMs: now });
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'second', Overwrite: true }));
    const cached = await readSecret(name, { client: ssm, nowMs: now + 60_000 });
    const refreshed = await readSecret(name, { client: ssm, nowMs: now + 5 * 60_000 + 1 });

    // Assess
    expect([first, cached, refreshed]).toEqual(['first', 'first', 'second']);
  });

  it('does not cache a failed secret read', async () => {
    // Prepare
    clearSecretCache();
    const name = `/k8s-healer/test/${randomUUID()}`;

    // Act
    await expect(readSecret(name, { client: ssm })).rejects.toMatchObject({ name: 'ParameterNotFound' });
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'now-there', Overwrite: true }));
    const later = await readSecret(name, { client: ssm });

    // Assess
    expect(later).toBe('now-there');
  });
});
