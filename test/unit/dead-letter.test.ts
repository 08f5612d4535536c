import { describe, expect, it } from 'vitest';
import { deadLetterPage } from '../../lib/pipeline/dead-letter.js';
import type { AuditLog } from '../../lib/ports/index.js';

/** A dead letter's page shows an unreadable body only redacted, then cut: never cut, then redacted. */
describe('the page for a dead letter it cannot read', () => {
  it('redacts a secret that straddles the 500-byte cut before cutting', async () => {
    // Prepare: a GitHub token starting at byte 470, so the cut would keep only its first 30 bytes.
    const token = `ghp_${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'}`;
    const body = `${'x'.repeat(468)}, ${token} trailing`;
    const audit = { listForIncident: () => Promise.resolve([]) } as unknown as AuditLog;

    // Act
    const page = await deadLetterPage({ messageId: 'm-1', body, receives: 3 }, { audit, cluster: 'local' });

    // Assess: no run of the token, not even the part before the cut.
    expect(page.body).not.toContain(token.slice(0, 12));
    expect(page.body).toContain('[REDACTED]');
  });
});
