import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { workerEntry, type WorkerEntry } from '../lib/wiring/worker-entry.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';
import { log } from '../lib/wiring/middleware.js';

/** Matches the DLQ redrive policy (infra/resources.yml): the delivery after which SQS gives up. */
const MAX_RECEIVES = 3;

// Built inside the first message's handling (lib/wiring/worker-entry.ts), so a bad configuration
// fails every message (SQS retries, then the DLQ pages); it never acts.
const metrics = functionMetrics();
let worker: WorkerEntry | undefined;

/**
 * SQS worker. Each message is one incident or one verification re-check; failures are reported
 * per message so SQS retries only those, and after the last delivery the message goes to the
 * dead-letter queue, whose consumer (functions/dead-letter.ts) pages on-call: nothing is lost and
 * nothing fails silently, whatever failed (a dependency, the cluster, the model, a bad message).
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().use(observed(metrics)).handler(async (event, context) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const delivery = { messageId: record.messageId, receives: Number(record.attributes.ApproximateReceiveCount ?? '1'), lastReceive: MAX_RECEIVES, remainingMs: () => context.getRemainingTimeInMillis() };
    let ok = false;
    try {
      worker ??= workerEntry(loadConfig(), { metrics });
      ok = (await worker.handleBody(record.body, delivery)).ok;
    } catch (error) {
      // Only the configuration throws here; the entry reports every other failure itself.
      log('error', delivery.receives >= MAX_RECEIVES ? 'message failed for the last time; it goes to the dead-letter queue, which pages' : 'message failed; will be retried', {
        messageId: record.messageId,
        receives: delivery.receives,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (!ok) batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
});
