import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { parseIncident } from '../lib/domain/incident-schema.js';
import { remediate } from '../lib/pipeline/remediate.js';
import { workerDeps } from '../lib/wiring/worker.js';
import { log } from '../lib/wiring/middleware.js';

const config = loadConfig();
const deps = workerDeps(config);

/**
 * SQS worker. Each message is one incident; failures are reported per message so SQS retries
 * only those (and moves them to the dead-letter queue after maxReceiveCount): nothing is lost.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const resolved = await deps;
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const parsed = parseIncident(record.body);
    if (!parsed.ok) {
      // Retrying cannot fix a malformed message; failing it sends it to the DLQ for a human.
      log('error', 'invalid incident message', { messageId: record.messageId, error: parsed.error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const report = await remediate(parsed.incident, resolved);
      log('info', 'incident handled', { messageId: record.messageId, incidentId: report.incidentId, outcome: report.outcome });
    } catch (error) {
      log('error', 'incident failed; will be retried', {
        messageId: record.messageId,
        incidentId: parsed.incident.id,
        error: error instanceof Error ? error.message : String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
