import type { HealerConfig } from '../config/config.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { ConsoleNotifier } from '../adapters/console-notifier.js';
import type { Notifier } from '../ports/index.js';

/** Where pages go: SNS when a topic is configured, else the console. Needs no secret, so a page can
 * still be sent when everything else failed to set up. */
export function notifierFrom(config: Pick<HealerConfig, 'topicArn'>): Notifier {
  return config.topicArn ? new SnsNotifier({ topicArn: config.topicArn }) : new ConsoleNotifier();
}
