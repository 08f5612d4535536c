/**
 * Notifier for local runs without an SNS topic: one JSON line per notification on stdout, so a
 * developer (or a test reading the process output) sees exactly what would have been paged, with
 * `text`, the plain text a mail subscriber would read (redacted, runbook link checked).
 */
import type { Notification } from '../domain/types.js';
import { pageFacts, plainText } from '../pages/formats.js';
import { redactBody, wellFormed } from '../pages/safe-text.js';
import type { Notifier } from '../ports/index.js';

export class ConsoleNotifier implements Notifier {
  constructor(private readonly writeLine: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  notify(notification: Notification): Promise<void> {
    const facts = pageFacts(notification);
    const text = plainText(wellFormed(redactBody(notification.body)), facts);
    // JSON.stringify escapes newlines in the body, so one notification is always one line.
    this.writeLine(JSON.stringify({ kind: 'notification', at: new Date().toISOString(), ...notification, eventAction: facts.eventAction, text }));
    return Promise.resolve();
  }
}
