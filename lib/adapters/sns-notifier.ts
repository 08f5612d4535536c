/**
 * Notifier on SNS: one Publish per notification, with a body per protocol (MessageStructure
 * json) and the attributes subscription filter policies match on. What is sent is decided by
 * lib/pages/sns-message.ts (pure: redaction, per-protocol bodies, SNS's limits); this only sends.
 */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../domain/types.js';
import { snsPage } from '../pages/sns-message.js';
import type { Notifier } from '../ports/index.js';
import { snsClient } from './aws-clients.js';

export interface SnsNotifierOptions {
  readonly topicArn: string;
  readonly client?: SNSClient;
}

export class SnsNotifier implements Notifier {
  private readonly topicArn: string;
  private readonly client: SNSClient;

  constructor(options: SnsNotifierOptions) {
    this.topicArn = options.topicArn;
    this.client = options.client ?? snsClient();
  }

  async notify(notification: Notification): Promise<void> {
    const page = snsPage(notification);
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(page.attributes)) attributes[name] = { DataType: 'String', StringValue: value };
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: page.subject,
        MessageStructure: 'json',
        Message: page.message,
        MessageAttributes: attributes,
      }),
    );
  }
}
