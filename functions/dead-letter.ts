import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deadLetterEntry } from '../lib/wiring/dead-letter.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';

const metrics = functionMetrics();
const pageDeadLetter = deadLetterEntry(process.env, { metrics });

/**
 * Dead-letter consumer: every message that reaches the incidents DLQ pages on-call with its
 * incident id and the worker's last error. It never reads the cluster or acts. A page that could
 * not be sent leaves the message on the DLQ (reported as failed), to be tried again.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().use(observed(metrics)).handler(async (event) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const page = await pageDeadLetter({ messageId: record.messageId, body: record.body, receives: Number(record.attributes.ApproximateReceiveCount ?? '0') || undefined });
      log('warn', 'dead letter paged', { messageId: record.messageId, subject: page.subject });
    } catch (error) {
      log('error', 'dead letter could not be paged; it stays on the DLQ', { messageId: record.messageId, error: error instanceof Error ? error.message : String(error) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
