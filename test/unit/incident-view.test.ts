import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderIncidentList, renderTimeline } from '../../lib/view/incident-page.js';
import { parseIncidentFilter, summarize } from '../../lib/view/incident-summary.js';
import type { AuditEntry } from '../../lib/domain/types.js';

/** The incident view's pages: cluster text is shown escaped and redacted, whatever it holds. */
const entry = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: AuditEntry['outcome']): AuditEntry =>
  ({ incidentId: 'abc123abc123', at: '2026-12-05T17:00:00.000Z', cluster: 'local', step, detail, ...(outcome ? { outcome } : {}) });

describe('the timeline page', () => {
  it('escapes markup in cluster text, so a log line cannot add a script or a link', () => {
    // Prepare: a hostile pod log and event text.
    const entries = [
      entry('intake', { source: 'scan', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'shop', name: 'web-1' } }),
      entry('evidence', { ownerChain: ['Pod/web-1'], containers: [{ name: 'web', previousLogTail: '<script>alert(1)</script><a href="https://evil.example">click</a>' }] }),
    ];

    // Act
    const html = renderTimeline(entries, summarize(entries));

    // Assess
    expect(html).not.toMatch(/<script>|<a href="https:\/\/evil/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('redacts a secret even if one reached the audit unredacted', () => {
    const entries = [
      entry('intake', { source: 'alertmanager', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'shop', name: 'web-1' } }),
      entry('diagnosis', { diagnoser: 'claude', summary: 'db login failed with password=hunter2hunter2', usage: { inputTokens: 10, outputTokens: 5, lookups: ['logs {"pod":"web-1"}: read AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'] } }),
    ];
    const html = renderTimeline(entries, summarize(entries));
    expect(html).not.toContain('hunter2hunter2');
    expect(html).not.toContain('wJalrXUtnFEMI');
    expect(html).toContain("<h4>The model's look-ups</h4>");
  });

  it('shows every policy rule with its verdict and names the one that denied', () => {
    const entries = [
      entry('intake', { source: 'scan', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'shop', name: 'web-1' } }),
      entry('decision', { allowed: false, deniedBy: 'cooldown', reason: 'acted 30 s ago', verdicts: [{ rule: 'kill-switch', reason: null }, { rule: 'cooldown', reason: 'acted 30 s ago' }] }),
      entry('outcome', { outcome: 'paged' }, 'paged'),
    ];
    const html = renderTimeline(entries, summarize(entries));
    expect(html).toContain('Policy: denied by cooldown: acted 30 s ago');
    expect(html).toContain('<tr><td>kill-switch</td><td>pass</td></tr><tr><td>cooldown</td><td><strong>denies</strong>: acted 30 s ago</td></tr>');
    expect(html).toContain('outcome <strong>paged</strong>');
  });

  it('escapes any text in any field (property)', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (name, log) => {
      const entries = [
        entry('intake', { source: 'scan', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'shop', name: `<b>${name}` } }),
        entry('evidence', { containers: [{ name: 'c', previousLogTail: `<img src=x onerror=alert(1)>${log}` }] }),
      ];
      const html = renderTimeline(entries, summarize(entries)) + renderIncidentList([summarize(entries)!], {});
      return !html.includes('<img') && !html.includes('<b>');
    }));
  });
});

describe('the list filter from query parameters', () => {
  it('accepts the CLI filters and normalises the time', () => {
    expect(parseIncidentFilter({ namespace: 'shop', outcome: 'acted', since: '2026-12-05', limit: '20' }))
      .toEqual({ ok: true, filter: { namespace: 'shop', outcome: 'acted', since: '2026-12-05T00:00:00.000Z', limit: 20 } });
    expect(parseIncidentFilter({ namespace: '', outcome: '' })).toEqual({ ok: true, filter: {} });
  });

  it.each([
    [{ namespace: 'Shop!' }, 'is not a Kubernetes namespace name'],
    [{ outcome: 'healed-itself' }, 'is not one of acted'],
    [{ since: 'last tuesday' }, 'is not a time'],
    [{ limit: '0' }, 'is not a number from 1 to 1000'],
    [{ limit: '-5' }, 'is not a number from 1 to 1000'],
  ])('refuses %j with the reason', (q, reason) => {
    const parsed = parseIncidentFilter(q);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toContain(reason);
  });
});
