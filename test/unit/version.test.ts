import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HEALER_VERSION } from '../../lib/version.js';
import { auditItem } from '../../lib/adapters/dynamo-audit-log.js';
import { withVersion } from '../../lib/wiring/notifier.js';
import type { Notification } from '../../lib/domain/types.js';

/** One version, everywhere a user meets it. */
describe('the version users see', () => {
  it('is package.json\'s', () => {
    expect(HEALER_VERSION).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  });

  it('ends every page', async () => {
    const sent: Notification[] = [];
    await withVersion({ notify: (n) => Promise.resolve(void sent.push(n)) }).notify({ subject: 's', body: 'b', severity: 'info', outcome: 'acted', cluster: 'c', namespace: 'n' });
    expect(sent[0]?.body).toBe(`b\n-- k8s-healer ${HEALER_VERSION}`);
  });

  it('is on every audit item', () => {
    expect(auditItem({ incidentId: 'i', at: '2026-12-05T00:00:00Z', cluster: 'c', step: 'intake', detail: {} }).healerVersion).toBe(HEALER_VERSION);
  });
});
