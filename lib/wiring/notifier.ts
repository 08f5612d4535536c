import type { HealerConfig } from '../config/config.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { ConsoleNotifier } from '../adapters/console-notifier.js';
import type { Notifier } from '../ports/index.js';
import { HEALER_VERSION } from '../version.js';

/** Every page ends with the version that sent it. */
export function withVersion(notifier: Notifier): Notifier {
  return { notify: (n) => notifier.notify({ ...n, body: `${n.body}\n-- k8s-healer ${HEALER_VERSION}` }) };
}

/** Where pages go: SNS when a topic is configured, else the console. Needs no secret, so a page can
 * still be sent when everything else failed to set up. */
export function notifierFrom(config: Pick<HealerConfig, 'topicArn'>): Notifier {
  return withVersion(config.topicArn ? new SnsNotifier({ topicArn: config.topicArn }) : new ConsoleNotifier());
}
