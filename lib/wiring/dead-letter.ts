import type { Notification } from '../domain/types.js';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { deadLetterPage } from '../pipeline/dead-letter.js';
import { countingNotifier } from '../metrics/counting-notifier.js';
import type { Notifier } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { notifierFrom } from './notifier.js';

/**
 * The dead-letter consumer's wiring: only what a page needs, read straight from the environment,
 * never through loadConfig, because this function must page even when the configuration the
 * worker failed on is itself the problem. Returns the page it sent.
 */
export function deadLetterEntry(env: Record<string, string | undefined>, make: { metrics?: Metrics; notifier?: Notifier } = {}): (message: { messageId: string; body: string; receives: number | undefined }) => Promise<Notification> {
  const cluster = env['HEALER_CLUSTER_NAME'] ?? 'unknown';
  const audit = new DynamoAuditLog({ tableName: env['HEALER_AUDIT_TABLE'] ?? 'k8s-healer-audit' });
  const base = make.notifier ?? notifierFrom({ topicArn: env['HEALER_TOPIC_ARN'] });
  const notifier = make.metrics ? countingNotifier(base, make.metrics) : base;
  return async (message) => {
    const page = await deadLetterPage(message, { audit, cluster });
    await notifier.notify(page);
    return page;
  };
}
