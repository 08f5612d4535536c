import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { localContext } from './http-api.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Plays Lambda's SQS event source mapping locally: long-polls the queue, invokes the handler with
 * an SQSEvent, deletes the messages the handler did not report as failed. Failed ones become
 * visible again after the visibility timeout, as in AWS.
 */
export function pollQueue(opts: {
  client: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  batchSize?: number;
  waitSeconds?: number;
  visibilityTimeoutSeconds?: number;
  onError?: (error: unknown) => void;
}): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const received = await opts.client.send(new ReceiveMessageCommand({
          QueueUrl: opts.queueUrl,
          MaxNumberOfMessages: opts.batchSize ?? 5,
          WaitTimeSeconds: opts.waitSeconds ?? 1,
          VisibilityTimeout: opts.visibilityTimeoutSeconds ?? 30,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }));
        const messages = received.Messages ?? [];
        if (messages.length === 0 || !running) continue;
        const event: SQSEvent = {
          Records: messages.map((m) => ({
            messageId: m.MessageId ?? '',
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: (m.Attributes ?? {}) as unknown as SQSEvent['Records'][number]['attributes'],
            messageAttributes: {},
            md5OfBody: m.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:local:000000000000:incidents',
            awsRegion: 'us-east-1',
          })),
        };
        const result = await opts.handler(event, localContext('remediate', 60_000));
        const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
        const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
        if (done.length > 0) {
          await opts.client.send(new DeleteMessageBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }));
        }
      } catch (error) {
        opts.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
