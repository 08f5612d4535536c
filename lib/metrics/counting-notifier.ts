import type { Notifier } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { notificationFailed, notificationSent } from './healer-metrics.js';

/** Counts what the notifier sends (notifications, and pages: anything not informational) and what it fails to send. */
export function countingNotifier(inner: Notifier, metrics: Metrics): Notifier {
  return {
    async notify(notification) {
      try {
        await inner.notify(notification);
      } catch (error) {
        metrics.record(notificationFailed(notification));
        throw error;
      }
      for (const point of notificationSent(notification)) metrics.record(point);
    },
  };
}
