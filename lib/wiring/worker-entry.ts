import type { HealerConfig } from '../config/config.js';
import type { QueueMessage } from '../pipeline/queue-message.js';
import { incidentIdOf, parseQueueMessage } from '../pipeline/queue-message.js';
import { remediate, type RemediationReport } from '../pipeline/remediate.js';
import { refuseUnmatchedVerification, verifyAction, type VerifyResult } from '../pipeline/verify.js';
import { LAST_FAILURE } from '../pipeline/dead-letter.js';
import { refuseUnknownCluster } from '../pipeline/unknown-cluster.js';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { DynamoActionRecords } from '../adapters/dynamo-action-records.js';
import { DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { countingNotifier } from '../metrics/counting-notifier.js';
import { systemClock, type Diagnoser, type KillSwitch, type Notifier, type VerificationScheduler } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import type { ActingDeps } from './acting.js';
import { perCluster } from './clusters.js';
import { log as jsonLog } from './middleware.js';
import { notifierFrom } from './notifier.js';
import { workerDeps } from './worker.js';

/** Time kept back from the model for acting, auditing and notifying before Lambda's timeout. */
const RESERVED_MS = 20_000;
/** Time kept back from every Kubernetes request for releasing, recording and reporting a failure. */
const CLEANUP_MS = 5_000;

/** How this delivery of a message stands: SQS's count, and the time left (none locally). */
export interface Delivery {
  readonly messageId: string;
  readonly receives: number;
  /** After this delivery the queue gives up (the DLQ redrive's maxReceiveCount). */
  readonly lastReceive: number;
  /** Milliseconds the invocation has left; undefined: no deadline (the local run). */
  readonly remainingMs?: () => number;
}

/** What handling one message came to; ok false means "deliver it again" (and in the end, dead-letter it). */
export interface Handled {
  readonly ok: boolean;
  readonly report?: RemediationReport;
  readonly verification?: VerifyResult;
}

export interface WorkerEntry {
  /** One queue message body, parsed whole as untrusted input first. */
  handleBody(body: string, delivery: Delivery): Promise<Handled>;
  handleMessage(message: QueueMessage, delivery: Delivery): Promise<Handled>;
  /** Each cluster's acting deps, built on first use (see perCluster). */
  readonly depsFor: (cluster: unknown) => Promise<ActingDeps>;
}

/**
 * The worker's wiring, used by the Lambda handler (functions/remediate.ts) and the local run
 * alike: each message routed to its own cluster's deps (or refused, for a cluster the registry
 * does not hold), an incident remediated, a verification re-checked, a failure reported so the
 * queue delivers it again, and on the last delivery recorded where the dead-letter page reads it.
 * Nothing is built before the first message, inside its error handling: a bad configuration fails
 * every message (retried, then dead-lettered and paged), it never acts.
 */
export function workerEntry(
  config: HealerConfig,
  make: { diagnoser?: Diagnoser; notifier?: Notifier; verifications?: VerificationScheduler; killSwitch?: KillSwitch; metrics?: Metrics; log?: typeof jsonLog } = {},
): WorkerEntry {
  const log = make.log ?? jsonLog;
  const overrides = {
    ...(make.diagnoser ? { diagnoser: make.diagnoser } : {}),
    ...(make.notifier ? { notifier: make.notifier } : {}),
    ...(make.verifications ? { verifications: make.verifications } : {}),
    ...(make.killSwitch ? { killSwitch: make.killSwitch } : {}),
    ...(make.metrics ? { metrics: make.metrics } : {}),
  };
  // Each cluster's deps from its own configuration only: an incident of A gets a client of A.
  const depsFor = perCluster(config, (own) => workerDeps(own, overrides));
  // What routing needs before any cluster is chosen; built at the first message, inside its handling.
  let routing: { audit: DynamoAuditLog; actionRecords: DynamoActionRecords; state: DynamoStateStore; notifier: Notifier } | undefined;
  const parts = () => {
    const notifier = make.notifier ?? notifierFrom(config);
    return (routing ??= {
      audit: new DynamoAuditLog({ tableName: config.auditTable }),
      actionRecords: new DynamoActionRecords({ tableName: config.stateTable }),
      state: new DynamoStateStore({ tableName: config.stateTable }),
      notifier: make.metrics ? countingNotifier(notifier, make.metrics) : notifier,
    });
  };
  const served = config.clusters.map((c) => c.name);
  const isServed = (cluster: string) => served.includes(cluster);

  async function handleMessage(message: QueueMessage, delivery: Delivery): Promise<Handled> {
    if (message.kind === 'invalid') {
      // Retrying cannot fix it; failing it sends it to the DLQ, whose consumer pages a human. No read, no write.
      log('error', 'invalid queue message', { messageId: delivery.messageId, error: message.error });
      return { ok: false };
    }
    let resolved: ActingDeps | undefined;
    try {
      const { audit, actionRecords, state, notifier } = parts();
      // The message names its cluster (the incident's, or the acted record's): untrusted, so it must
      // be in the registry, and only that cluster's client is built. Unknown: refused, nothing read.
      if (message.kind === 'verify') {
        const acted = await actionRecords.get(message.request.incidentId, message.request.actionId);
        if (!acted || !isServed(acted.incident.cluster)) {
          const why = acted ? `the action's cluster ${acted.incident.cluster.slice(0, 100)} is not in the registry` : 'no action of the healer has these ids';
          await refuseUnmatchedVerification(message.request, acted, { audit, notifier, state, clock: systemClock }, config.clusterName, why);
          log('warn', 'verification names no action of a configured cluster', { messageId: delivery.messageId, why });
          return { ok: true, verification: acted ? 'other-cluster' : 'unknown-action' };
        }
        resolved = await depsFor(acted.incident.cluster);
      } else {
        if (!isServed(message.incident.cluster)) {
          await refuseUnknownCluster(message.incident, served, { audit, notifier, clock: systemClock });
          log('error', 'incident for a cluster not in the registry; refused', { messageId: delivery.messageId, incidentId: message.incident.id });
          return { ok: true };
        }
        resolved = await depsFor(message.incident.cluster);
      }
      const remaining = delivery.remainingMs?.();
      if (remaining !== undefined) resolved.kubeConfig.setDeadline(Date.now() + remaining - CLEANUP_MS);
      if (message.kind === 'verify') {
        if (!resolved.verifications) throw new Error('verification message but no queue to re-check through (HEALER_QUEUE_URL)');
        const verification = await verifyAction(message.request, { ...resolved, verifications: resolved.verifications });
        log('info', 'verification', { messageId: delivery.messageId, incidentId: message.request.incidentId, cluster: resolved.settings.cluster, result: typeof verification === 'string' ? verification : verification.status });
        return { ok: true, verification };
      }
      const diagnoseDeadline = remaining === undefined ? undefined : Date.now() + Math.max(1_000, remaining - RESERVED_MS);
      const report = await remediate(message.incident, resolved, diagnoseDeadline === undefined ? {} : { diagnoseDeadline });
      log('info', 'incident handled', { messageId: delivery.messageId, incidentId: report.incidentId, cluster: resolved.settings.cluster, outcome: report.outcome });
      return { ok: true, report };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const incidentId = incidentIdOf(message);
      const last = delivery.receives >= delivery.lastReceive;
      log('error', last ? 'message failed for the last time; it goes to the dead-letter queue, which pages' : 'message failed; will be retried', {
        messageId: delivery.messageId,
        incidentId,
        receives: delivery.receives,
        error: text,
      });
      // The dead-letter consumer's page names this error: record it where that consumer reads.
      if (last && resolved && incidentId) {
        const cluster = message.kind === 'incident' ? message.incident.cluster : resolved.settings.cluster;
        await resolved.audit
          .append({ incidentId, at: new Date().toISOString(), cluster, step: 'outcome', outcome: 'action-failed', detail: { [LAST_FAILURE]: text.slice(0, 2000), receives: delivery.receives, messageId: delivery.messageId } })
          .catch((auditError: unknown) => log('error', 'last failure not recorded', { incidentId, error: String(auditError) }));
      }
      return { ok: false };
    } finally {
      resolved?.kubeConfig.setDeadline(undefined);
    }
  }

  return {
    depsFor,
    handleMessage,
    handleBody: (body, delivery) => handleMessage(parseQueueMessage(body), delivery),
  };
}
