/**
 * IncidentQueue on SQS: SendMessageBatch in chunks of at most 10 messages and 256 KiB, body = the
 * Incident as JSON. A partial failure is an error naming the incidents, so the webhook answers 5xx
 * and Alertmanager retries (dedup makes the retry of already-sent incidents harmless).
 */
import { SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { Incident } from '../domain/types.js';
import type { VerificationRequest } from '../domain/verification-schema.js';
import type { IncidentQueue, VerificationScheduler } from '../ports/index.js';
import { sqsClient } from './aws-clients.js';
import { mapWithConcurrency } from '../util/concurrency.js';

export interface SqsIncidentQueueOptions {
  readonly queueUrl: string;
  readonly client?: SQSClient;
}

const MAX_BATCH_ENTRIES = 10;
/** SQS caps one batch request's total payload at 256 KiB (the same cap as one message). */
const MAX_BATCH_BYTES = 256 * 1024;

export class EnqueueError extends Error {
  constructor(
    readonly failed: readonly { readonly incidentId: string; readonly code: string; readonly message?: string }[],
  ) {
    super(`failed to enqueue ${failed.length} incident(s): ${failed.map((f) => `${f.incidentId} (${f.code})`).join(', ')}`);
    this.name = 'EnqueueError';
  }
}

export class SqsIncidentQueue implements IncidentQueue, VerificationScheduler {
  private readonly queueUrl: string;
  private readonly client: SQSClient;

  constructor(options: SqsIncidentQueueOptions) {
    this.queueUrl = options.queueUrl;
    this.client = options.client ?? sqsClient();
  }

  async enqueue(incidents: readonly Incident[]): Promise<void> {
    const failed: { incidentId: string; code: string; message?: string }[] = [];
    // Batches are independent; a few in flight keep a storm payload fast without a burst of 100.
    await mapWithConcurrency(chunkIncidents(incidents), 4, async (chunk) => {
      // Batch entry ids must be [A-Za-z0-9_-]{1,80}; incident ids need not be, so use positions.
      const entries: SendMessageBatchRequestEntry[] = chunk.map(({ body }, i) => ({ Id: `m${i}`, MessageBody: body }));
      const result = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
      for (const failure of result.Failed ?? []) {
        const index = Number(failure.Id?.slice(1));
        failed.push({
          incidentId: chunk[index]?.incident.id ?? `unknown entry ${failure.Id ?? ''}`,
          code: failure.Code ?? 'Unknown',
          ...(failure.Message === undefined ? {} : { message: failure.Message }),
        });
      }
    });
    if (failed.length > 0) throw new EnqueueError(failed);
  }

  /** The same queue the worker reads: the message comes back to it after the delay (SQS caps it at 900 s). */
  async scheduleVerification(request: VerificationRequest, delaySeconds: number): Promise<void> {
    await this.client.send(new SendMessageCommand({
      QueueUrl: this.queueUrl,
      MessageBody: JSON.stringify(request),
      DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
    }));
  }
}

type Prepared = { readonly incident: Incident; readonly body: string; readonly bytes: number };

/** Splits into batches by count and total size; one incident over the size limit is an error. */
export function chunkIncidents(incidents: readonly Incident[]): Prepared[][] {
  const chunks: Prepared[][] = [];
  let current: Prepared[] = [];
  let currentBytes = 0;
  for (const incident of incidents) {
    const body = JSON.stringify(incident);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > MAX_BATCH_BYTES) {
      throw new EnqueueError([{ incidentId: incident.id, code: 'MessageTooLong', message: `${bytes} bytes` }]);
    }
    if (current.length === MAX_BATCH_ENTRIES || currentBytes + bytes > MAX_BATCH_BYTES) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({ incident, body, bytes });
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
