import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { verifyAction } from '../lib/pipeline/verify.js';
import { remediate } from '../lib/pipeline/remediate.js';
import { incidentIdOf, parseQueueMessage } from '../lib/pipeline/queue-message.js';
import { LAST_FAILURE } from '../lib/pipeline/dead-letter.js';
import { depsOnDemand, workerDeps } from '../lib/wiring/worker.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';

/** Matches the DLQ redrive policy (infra/resources.yml): the delivery after which SQS gives up. */
const MAX_RECEIVES = 3;
/** Time kept back from the model for acting, auditing and notifying before Lambda's timeout. */
const RESERVED_MS = 20_000;
/** Time kept back from every Kubernetes request for releasing, recording and reporting a failure. */
const CLEANUP_MS = 5_000;

// Built inside each invocation's handling, kept only once it succeeds whole (see depsOnDemand).
const metrics = functionMetrics();
const deps = depsOnDemand(() => workerDeps(loadConfig(), { metrics }));

/**
 * SQS worker. Each message is one incident or one verification re-check; failures are reported
 * per message so SQS retries only those, and after the last delivery the message goes to the
 * dead-letter queue, whose consumer (functions/dead-letter.ts) pages on-call: nothing is lost and
 * nothing fails silently, whatever failed (a dependency, the cluster, the model, a bad message).
 */
export const handler = middy<SQSEvent, SQSBatchResponse>().use(observed(metrics)).handler(async (event, context) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    if (!(await handleRecord(record, context))) batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
});

/** One message; false means "let SQS redeliver it" (and, after the last delivery, dead-letter it). */
async function handleRecord(record: SQSRecord, context: Context): Promise<boolean> {
  const message = parseQueueMessage(record.body);
  if (message.kind === 'invalid') {
    // Retrying cannot fix it; failing it sends it to the DLQ, whose consumer pages a human. No read, no write.
    log('error', 'invalid queue message', { messageId: record.messageId, error: message.error });
    return false;
  }
  const receives = Number(record.attributes.ApproximateReceiveCount ?? '1');
  let resolved: Awaited<ReturnType<typeof deps>> | undefined;
  try {
    resolved = await deps();
    resolved.kubeConfig.setDeadline(Date.now() + context.getRemainingTimeInMillis() - CLEANUP_MS);
    if (message.kind === 'verify') {
      if (!resolved.verifications) throw new Error('verification message but no queue to re-check through (HEALER_QUEUE_URL)');
      const result = await verifyAction(message.request, { ...resolved, verifications: resolved.verifications });
      log('info', 'verification', { messageId: record.messageId, incidentId: message.request.incidentId, result: typeof result === 'string' ? result : result.status });
      return true;
    }
    const diagnoseDeadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVED_MS);
    const report = await remediate(message.incident, resolved, { diagnoseDeadline });
    log('info', 'incident handled', { messageId: record.messageId, incidentId: report.incidentId, outcome: report.outcome });
    return true;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const incidentId = incidentIdOf(message);
    const last = receives >= MAX_RECEIVES;
    log('error', last ? 'message failed for the last time; it goes to the dead-letter queue, which pages' : 'message failed; will be retried', {
      messageId: record.messageId,
      incidentId,
      receives,
      error: text,
    });
    // The dead-letter consumer's page names this error: record it where that consumer reads.
    if (last && resolved && incidentId) {
      const cluster = message.kind === 'incident' ? message.incident.cluster : resolved.settings.cluster;
      await resolved.audit
        .append({ incidentId, at: new Date().toISOString(), cluster, step: 'outcome', outcome: 'action-failed', detail: { [LAST_FAILURE]: text.slice(0, 2000), receives, messageId: record.messageId } })
        .catch((auditError: unknown) => log('error', 'last failure not recorded', { incidentId, error: String(auditError) }));
    }
    return false;
  } finally {
    resolved?.kubeConfig.setDeadline(undefined);
  }
}
