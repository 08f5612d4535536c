/**
 * Notifier for local runs without an SNS topic: one JSON line per notification on stdout, so a
 * developer (or a test reading the process output) sees exactly what would have been paged. The
 * line is the document SNS's machine subscribers would get (lib/pages/sns-message.ts), so it
 * passes the same exit: subject, text and facts redacted, runbook link checked, nothing raw.
 */
import type { Notification } from '../domain/types.js';
import type { PageDocument } from '../pages/formats.js';
import { snsPage } from '../pages/sns-message.js';
import type { Notifier } from '../ports/index.js';

export class ConsoleNotifier implements Notifier {
  constructor(private readonly writeLine: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  notify(notification: Notification): Promise<void> {
    const page = snsPage(notification);
    const members = JSON.parse(page.message) as { readonly default: string };
    const document = JSON.parse(members.default) as PageDocument;
    // JSON.stringify escapes newlines in the text, so one notification is always one line.
    this.writeLine(JSON.stringify({ kind: 'notification', at: new Date().toISOString(), ...document, attributes: page.attributes }));
    return Promise.resolve();
  }
}
