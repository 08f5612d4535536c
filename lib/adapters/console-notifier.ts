/**
 * Notifier for local runs without an SNS topic: one JSON line per notification on stdout, so a
 * developer (or a test reading the process output) sees exactly what would have been paged.
 */
import type { Notification } from '../domain/types.js';
import type { Notifier } from '../ports/index.js';

export class ConsoleNotifier implements Notifier {
  constructor(private readonly writeLine: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  notify(notification: Notification): Promise<void> {
    // JSON.stringify escapes newlines in the body, so one notification is always one line.
    this.writeLine(JSON.stringify({ kind: 'notification', at: new Date().toISOString(), ...notification }));
    return Promise.resolve();
  }
}
