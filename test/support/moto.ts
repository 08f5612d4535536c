/**
 * Starts moto's server (SNS, SQS, SSM on one port) from the venv scripts/setup-tools.sh builds,
 * on 127.0.0.1 and a random port, and reads SNS notifications back through a real SNS -> SQS
 * subscription.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SubscribeCommand, CreateTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createSnsClient, createSqsClient, createSsmClient } from '../../lib/adapters/aws-clients.js';
import { PAGE_SCHEMA, type PageDocument } from '../../lib/pages/formats.js';
import { localAws } from './dynamodb-local.js';
import { freePort, spawnSupervised, waitUntilReady, type RunningComponent } from './process.js';

/** The moto_server the setup script installs (override with MOTO_SERVER). */
export function motoServerPath(): string {
  if (process.env.MOTO_SERVER) return process.env.MOTO_SERVER;
  const cache = process.env.K8S_HEALER_CACHE ?? join(homedir(), '.cache', 'k8s-healer');
  return join(cache, 'venv', 'bin', 'moto_server');
}

/** Why moto cannot run here, or undefined when it can (used to skip outside CI). */
export function motoUnavailable(): string | undefined {
  const path = motoServerPath();
  return existsSync(path) ? undefined : `${path} not found (run scripts/setup-tools.sh)`;
}

export interface Moto extends RunningComponent {
  /** Forgets every topic, queue and parameter (POST /moto-api/reset). */
  reset(): Promise<void>;
  sns(): SNSClient;
  sqs(): SQSClient;
  ssm(): SSMClient;
}

/** `env` is added to moto's environment, e.g. REQUESTS_CA_BUNDLE so its https deliveries trust a test endpoint's certificate. */
export async function startMoto(options: { timeoutMs?: number; attempts?: number; env?: Readonly<Record<string, string>> } = {}): Promise<Moto> {
  const bin = motoServerPath();
  if (!existsSync(bin)) throw new Error(`moto_server not found at ${bin}; run scripts/setup-tools.sh`);
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort('127.0.0.1');
    const endpoint = `http://127.0.0.1:${port}`;
    const started = Date.now();
    // PYTHONUNBUFFERED: the log tail in an error must show what moto printed last.
    const proc = spawnSupervised(bin, ['-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, ...options.env, PYTHONUNBUFFERED: '1' },
    });
    try {
      await waitUntilReady('moto', proc, async () => {
        const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        return response.ok;
      }, options.timeoutMs ?? 60_000);
    } catch (error) {
      lastError = error;
      await proc.stop();
      if (/Address already in use/i.test(proc.logTail()) && attempt < attempts) continue;
      throw error;
    }
    const startMs = Date.now() - started;
    const clients: { destroy(): void }[] = [];
    const track = <T extends { destroy(): void }>(client: T): T => {
      clients.push(client);
      return client;
    };
    return {
      endpoint,
      startMs,
      pid: proc.pid,
      async reset() {
        const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
      },
      sns: () => track(createSnsClient({ endpoint, ...localAws() })),
      sqs: () => track(createSqsClient({ endpoint, ...localAws() })),
      ssm: () => track(createSsmClient({ endpoint, ...localAws() })),
      async stop() {
        for (const client of clients.splice(0)) client.destroy();
        await proc.stop();
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** An SNS notification as it arrives in a subscribed SQS queue (raw delivery off). */
export interface ReceivedNotification {
  readonly subject: string | undefined;
  /** What a person reads: the healer's page text (its `text`), or the Message itself for anything else. */
  readonly message: string;
  /** The Message as SQS delivered it (for the healer: the machine document, JSON). */
  readonly raw: string;
  /** The healer's machine document, when the Message is one. */
  readonly page: PageDocument | undefined;
  readonly attributes: Readonly<Record<string, string>>;
  readonly envelope: Readonly<Record<string, unknown>>;
}

export interface TopicInbox {
  readonly topicArn: string;
  readonly queueUrl: string;
  /** Waits for up to `count` notifications (or until timeoutMs), deleting what it read. */
  receive(count: number, timeoutMs?: number): Promise<ReceivedNotification[]>;
}

/** Creates an SNS topic and an SQS queue subscribed to it, so tests can read what was published. */
export async function createTopicWithInbox(sns: SNSClient, sqs: SQSClient, name: string): Promise<TopicInbox> {
  const { TopicArn: topicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
  if (topicArn === undefined || queueUrl === undefined) throw new Error('moto returned no topic ARN or queue URL');
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes?.QueueArn;
  if (queueArn === undefined) throw new Error('moto returned no queue ARN');
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));

  return {
    topicArn,
    queueUrl,
    async receive(count, timeoutMs = 10_000) {
      const out: ReceivedNotification[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < count && Date.now() < deadline) {
        const waitSeconds = Math.max(0, Math.min(1, Math.floor((deadline - Date.now()) / 1000)));
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, count - out.length), WaitTimeSeconds: waitSeconds }),
        );
        for (const message of Messages) out.push(parseEnvelope(message.Body ?? '{}'));
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      }
      return out;
    },
  };
}

function parseEnvelope(body: string): ReceivedNotification {
  const envelope = JSON.parse(body) as Record<string, unknown>;
  const rawAttributes = (envelope.MessageAttributes ?? {}) as Record<string, { Type?: string; Value?: string }>;
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawAttributes)) {
    if (typeof value.Value === 'string') attributes[name] = value.Value;
  }
  const raw = typeof envelope.Message === 'string' ? envelope.Message : '';
  const page = pageDocumentIn(raw);
  return {
    subject: typeof envelope.Subject === 'string' ? envelope.Subject : undefined,
    message: page?.text ?? raw,
    raw,
    page,
    attributes,
    envelope,
  };
}

/** The healer's machine document (the `default` member an SQS subscription gets), or undefined. */
export function pageDocumentIn(raw: string): PageDocument | undefined {
  try {
    const parsed = JSON.parse(raw) as Partial<PageDocument> | null;
    return parsed !== null && typeof parsed === 'object' && parsed.schema === PAGE_SCHEMA && typeof parsed.text === 'string' ? (parsed as PageDocument) : undefined;
  } catch {
    return undefined;
  }
}
