import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoAuditLog } from '../lib/adapters/dynamo-audit-log.js';
import { deadLetterPage } from '../lib/pipeline/dead-letter.js';
import { notifierFrom } from '../lib/wiring/notifier.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';
import { countingNotifier } from '../lib/metrics/counting-notifier.js';

// Only what a page needs, read straight from the environment: this function must page even when
// the configuration the worker failed on is itself the problem.
const topicArn = process.env.HEALER_TOPIC_ARN;
const cluster = process.env.HEALER_CLUSTER_NAME ?? 'unknown';
const audit = new DynamoAuditLog({ tableName: process.env.HEALER_AUDIT_TABLE ?? 'k8s-healer-audit' });
const metrics = functionMetrics();
const notifier = countingNotifier(notifierFrom({ topicArn }), metrics);

/**
 * Dead-letter consumer: every message that reaches the incidents DLQ pages on-call with its
 * incident id and the worker's last error. It never reads the cluster or acts. A page that could
 * not be sent leaves the message on the DLQ (reported as failed), to be tried again.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().use(observed(metrics)).handler(async (event) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const page = await deadLetterPage(
        { messageId: record.messageId, body: record.body, receives: Number(record.attributes.ApproximateReceiveCount ?? '0') || undefined },
        { audit, cluster },
      );
      await notifier.notify(page);
      log('warn', 'dead letter paged', { messageId: record.messageId, subject: page.subject });
    } catch (error) {
      log('error', 'dead letter could not be paged; it stays on the DLQ', { messageId: record.messageId, error: error instanceof Error ? error.message : String(error) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
