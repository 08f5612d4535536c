import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadConfig, type HealerConfig } from '../lib/config/config.js';
import { auditUnmatchedVerification, verifyAction } from '../lib/pipeline/verify.js';
import { remediate } from '../lib/pipeline/remediate.js';
import { incidentIdOf, parseQueueMessage } from '../lib/pipeline/queue-message.js';
import { LAST_FAILURE } from '../lib/pipeline/dead-letter.js';
import { workerDeps } from '../lib/wiring/worker.js';
import { perCluster } from '../lib/wiring/clusters.js';
import { refuseUnknownCluster } from '../lib/pipeline/unknown-cluster.js';
import { DynamoAuditLog } from '../lib/adapters/dynamo-audit-log.js';
import { DynamoActionRecords } from '../lib/adapters/dynamo-action-records.js';
import { notifierFrom } from '../lib/wiring/notifier.js';
import { countingNotifier } from '../lib/metrics/counting-notifier.js';
import { systemClock } from '../lib/ports/index.js';
import type { ActingDeps } from '../lib/wiring/acting.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';

/** Matches the DLQ redrive policy (infra/resources.yml): the delivery after which SQS gives up. */
const MAX_RECEIVES = 3;
/** Time kept back from the model for acting, auditing and notifying before Lambda's timeout. */
const RESERVED_MS = 20_000;
/** Time kept back from every Kubernetes request for releasing, recording and reporting a failure. */
const CLEANUP_MS = 5_000;

// Built inside each invocation's handling, kept only once it succeeds whole (see depsOnDemand):
// a bad configuration fails every message (SQS retries, then the DLQ pages), it never acts.
const metrics = functionMetrics();
let stack: { config: HealerConfig; depsFor: (cluster: unknown) => Promise<ActingDeps>; audit: DynamoAuditLog; actionRecords: DynamoActionRecords; notifier: ReturnType<typeof countingNotifier> } | undefined;
function stackParts() {
  if (!stack) {
    const config = loadConfig();
    stack = {
      config,
      // Each cluster's deps from its own configuration only: an incident of A gets a client of A.
      depsFor: perCluster(config, (own) => workerDeps(own, { metrics })),
      audit: new DynamoAuditLog({ tableName: config.auditTable }),
      actionRecords: new DynamoActionRecords({ tableName: config.stateTable }),
      notifier: countingNotifier(notifierFrom(config), metrics),
    };
  }
  return stack;
}
const served = (config: HealerConfig) => config.clusters.map((c) => c.name);

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
  let resolved: ActingDeps | undefined;
  try {
    const parts = stackParts();
    // The message names its cluster (the incident's, or the acted record's): untrusted, so it must
    // be in the registry, and only that cluster's client is built. Unknown: refused, nothing read.
    if (message.kind === 'verify') {
      const acted = await parts.actionRecords.get(message.request.incidentId, message.request.actionId);
      if (!acted || !parts.config.clusters.some((c) => c.name === acted.incident.cluster)) {
        const why = acted ? `the action's cluster ${acted.incident.cluster.slice(0, 100)} is not in the registry` : 'no action of the healer has these ids';
        await auditUnmatchedVerification(message.request, { audit: parts.audit, clock: systemClock }, parts.config.clusterName, why);
        log('warn', 'verification names no action of a configured cluster', { messageId: record.messageId, why });
        return true;
      }
      resolved = await parts.depsFor(acted.incident.cluster);
    } else {
      if (!parts.config.clusters.some((c) => c.name === message.incident.cluster)) {
        await refuseUnknownCluster(message.incident, served(parts.config), { audit: parts.audit, notifier: parts.notifier, clock: systemClock });
        log('error', 'incident for a cluster not in the registry; refused', { messageId: record.messageId, incidentId: message.incident.id });
        return true;
      }
      resolved = await parts.depsFor(message.incident.cluster);
    }
    resolved.kubeConfig.setDeadline(Date.now() + context.getRemainingTimeInMillis() - CLEANUP_MS);
    if (message.kind === 'verify') {
      if (!resolved.verifications) throw new Error('verification message but no queue to re-check through (HEALER_QUEUE_URL)');
      const result = await verifyAction(message.request, { ...resolved, verifications: resolved.verifications });
      log('info', 'verification', { messageId: record.messageId, incidentId: message.request.incidentId, cluster: resolved.settings.cluster, result: typeof result === 'string' ? result : result.status });
      return true;
    }
    const diagnoseDeadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVED_MS);
    const report = await remediate(message.incident, resolved, { diagnoseDeadline });
    log('info', 'incident handled', { messageId: record.messageId, incidentId: report.incidentId, cluster: resolved.settings.cluster, outcome: report.outcome });
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
