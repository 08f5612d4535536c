import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { parseIncident } from '../lib/domain/incident-schema.js';
import { isVerificationMessage, parseVerificationJob } from '../lib/domain/verification-schema.js';
import { verifyAction } from '../lib/pipeline/verify.js';
import { remediate } from '../lib/pipeline/remediate.js';
import { workerDeps } from '../lib/wiring/worker.js';
import { log } from '../lib/wiring/middleware.js';
import { buildFailurePage } from '../lib/pipeline/notification.js';

/** Matches the DLQ redrive policy (infra/resources.yml): the delivery after which SQS gives up. */
const MAX_RECEIVES = 3;
/** Time kept back from the model for acting, auditing and notifying before Lambda's timeout. */
const RESERVED_MS = 20_000;

const config = loadConfig();
const deps = workerDeps(config);

/**
 * SQS worker. Each message is one incident; failures are reported per message so SQS retries
 * only those (and moves them to the dead-letter queue after maxReceiveCount): nothing is lost.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event, context) => {
  const resolved = await deps;
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    if (isVerificationBody(record.body)) {
      if (!(await handleVerification(record.body, record.messageId, resolved))) batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const parsed = parseIncident(record.body);
    if (!parsed.ok) {
      // Retrying cannot fix a malformed message; failing it sends it to the DLQ for a human.
      log('error', 'invalid incident message', { messageId: record.messageId, error: parsed.error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const diagnoseDeadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVED_MS);
      const report = await remediate(parsed.incident, resolved, { diagnoseDeadline });
      log('info', 'incident handled', { messageId: record.messageId, incidentId: report.incidentId, outcome: report.outcome });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const receives = Number(record.attributes.ApproximateReceiveCount ?? '1');
      log('error', receives >= MAX_RECEIVES ? 'incident failed for the last time; paging' : 'incident failed; will be retried', {
        messageId: record.messageId,
        incidentId: parsed.incident.id,
        receives,
        error: message,
      });
      // On the last delivery a human must hear about it: the DLQ alone pages nobody.
      if (receives >= MAX_RECEIVES) {
        await resolved.notifier.notify(buildFailurePage(parsed.incident, message, receives)).catch((notifyError: unknown) => {
          log('error', 'failure page could not be sent', { incidentId: parsed.incident.id, error: String(notifyError) });
        });
      }
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});

function isVerificationBody(body: string): boolean {
  try {
    return isVerificationMessage(JSON.parse(body));
  } catch {
    return false;
  }
}

/** A delayed re-check of an action (lib/pipeline/verify.ts); false means "let SQS redeliver it". */
async function handleVerification(body: string, messageId: string, resolved: Awaited<typeof deps>): Promise<boolean> {
  const parsed = parseVerificationJob(JSON.parse(body));
  if (!parsed.ok) {
    log('error', 'invalid verification message', { messageId, error: parsed.error });
    return false;
  }
  if (!resolved.verifications) {
    log('error', 'verification message but no queue to re-check through', { messageId });
    return false;
  }
  try {
    const result = await verifyAction(parsed.job, { ...resolved, verifications: resolved.verifications, settings: resolved.settings });
    log('info', 'verification', { messageId, incidentId: parsed.job.incident.id, result: result === 'duplicate' ? result : result.status });
    return true;
  } catch (error) {
    log('error', 'verification failed; will be retried', { messageId, incidentId: parsed.job.incident.id, error: error instanceof Error ? error.message : String(error) });
    return false;
  }
}
