/**
 * What text may leave in a page, per audience. Pure: the SNS adapter and the console call these,
 * and the tests call them directly. Every function here assumes cluster text is hostile: it may
 * carry secrets (redaction), chat markup that links or mentions (neutralised), characters SNS or a
 * mail client chokes on (made well formed), or a "runbook" that is not a web page (dropped).
 */
import { redact } from '../evidence/redact.js';

/**
 * The line lib/pipeline/notification.ts puts first on a page that needs approval: the healer's own
 * link, whose signed token is high-entropy on purpose and would be masked. Only that exact shape,
 * only at the very start (cluster text never comes first); the URL before the token is redacted.
 */
const APPROVAL_LINE = /^(Approve \([^\n)]{0,80}\): )(https?:\/\/[^\s]{1,1024}?[?&]token=)([a-f0-9]{32}\.[0-9]{1,16}\.[A-Za-z0-9_-]{43})(?=\n|$)/;

/** The body as it is published: redacted, except for the approval link at its start. */
export function redactBody(body: string): string {
  const m = APPROVAL_LINE.exec(body);
  if (m === null) return redact(body);
  return `${m[1] ?? ''}${redact(m[2] ?? '')}${m[3] ?? ''}${redact(body.slice(m[0].length))}`;
}

/** The approval link as it may leave on its own (a chat button line): the same shape redactBody keeps, else undefined. */
export function approvalLinkOf(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  const m = APPROVAL_LINE.exec(`Approve (x): ${link}`);
  if (m === null || m[0].length !== `Approve (x): ${link}`.length) return undefined;
  // The part before the token passes redaction unchanged, or the link is not sent alone.
  return redact(m[2] ?? '') === m[2] ? link : undefined;
}

const RUNBOOK_MAX_CHARS = 2048;
/**
 * http(s), a plain host name or address (no user:password@, no IPv6 brackets), then only
 * RFC 3986 characters: nothing that ends a chat link (`|`, `<`, `>`), no blanks, no quotes.
 */
const PLAIN_WEB_URL = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9\-._~%!$&'()*+,;=:@/?#]*)?$/;

/**
 * The alert's runbook_url, only when it is an http(s) URL that redaction leaves as it is (a
 * token in its query would be masked, so the link would be broken anyway, and is not sent).
 */
export function safeRunbookUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const url = raw.trim();
  if (url.length === 0 || url.length > RUNBOOK_MAX_CHARS || !PLAIN_WEB_URL.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
    if (parsed.username !== '' || parsed.password !== '') return undefined;
  } catch {
    return undefined;
  }
  return redact(url) === url ? url : undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Tab, newline and carriage return stay; other C0 controls and DEL (terminal colour codes in logs)
// become U+FFFD, because SQS refuses them and mail clients show them as garbage.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Text every protocol accepts: no lone surrogates (not UTF-8), no control characters. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, '\uFFFD');
}

/**
 * Characters that make chat markup out of data, each replaced by a look-alike that does nothing:
 * `<…>` (Slack links `<url|text>`, `<!here>`, `<@U123>`, HTML in Teams), `[…](…)` (markdown
 * links and images), `@` (mentions: @here, @channel, @everyone, @user), `&` (entities that decode
 * to `<`), and the backtick (which would end the code block the text is shown in).
 */
const CHAT_LOOKALIKES: Readonly<Record<string, string>> = {
  '<': '\u2039', // ‹
  '>': '\u203A', // ›
  '[': '\uFF3B', // ［
  ']': '\uFF3D', // ］
  '@': '\uFF20', // ＠
  '&': '\uFF06', // ＆
  '`': '\u02CB', // ˋ
};

/** Cluster text as chat may show it: no links, mentions or markup of its own. */
export function neutralizeChat(text: string): string {
  return wellFormed(text).replace(/[<>[\]@&`]/g, (c) => CHAT_LOOKALIKES[c] ?? '\uFFFD');
}
