import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import { parseAlertmanagerBody } from './alertmanager.js';
import { alertToIncident } from './incidents.js';
import { admitIncidents, type IntakeReport } from '../pipeline/intake.js';
import type { Incident } from '../domain/types.js';

export interface WebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined | null;
  readonly isBase64Encoded?: boolean;
}

export interface WebhookResponse {
  readonly statusCode: number;
  readonly body: string;
  readonly report?: IntakeReport;
}

export interface WebhookDeps {
  readonly expectedToken: string;
  readonly state: StateStore;
  readonly queue: IncidentQueue;
  readonly cluster: string;
  readonly dedupWindowSeconds: number;
  readonly maxBodyBytes: number;
  readonly maxAlerts: number;
  readonly nowMs: number;
}

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

const reply = (statusCode: number, payload: Record<string, unknown>, report?: IntakeReport): WebhookResponse => ({
  statusCode,
  body: JSON.stringify(payload),
  report,
});

/**
 * Alertmanager → incidents → dedup → queue. No cluster or model work here: the webhook must
 * answer fast so that alert storms and retries never turn into duplicate fixes.
 */
export async function handleWebhook(request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const auth = header(request.headers, 'authorization') ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
  if (!match) return reply(401, { error: 'missing bearer token' });
  if (!tokensMatch(match[1] ?? '', deps.expectedToken)) return reply(403, { error: 'invalid token' });

  const raw = request.body ?? '';
  if (raw.length === 0) return reply(400, { error: 'empty body' });
  // Reject before decoding: base64 is 4/3 of the payload, and decoding a huge body costs memory.
  if (raw.length > deps.maxBodyBytes * (request.isBase64Encoded ? 4 / 3 : 1) + 4) {
    return reply(413, { error: `payload larger than ${deps.maxBodyBytes} bytes` });
  }
  const body = request.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const contentType = header(request.headers, 'content-type');
  if (contentType !== undefined && !/^application\/json\b/i.test(contentType)) {
    return reply(415, { error: `content-type must be application/json, got ${contentType.slice(0, 100)}` });
  }
  const parsed = parseAlertmanagerBody(body, { maxBytes: deps.maxBodyBytes, maxAlerts: deps.maxAlerts });
  if (!parsed.ok) return reply(parsed.status, { error: parsed.error });

  const nowIso = new Date(deps.nowMs).toISOString();
  const incidents: Incident[] = [];
  const skipped: string[] = [];
  for (const alert of parsed.payload.alerts) {
    const mapped = alertToIncident(alert, deps.cluster, nowIso);
    if ('incident' in mapped) incidents.push(mapped.incident);
    else skipped.push(mapped.skipped);
  }
  const report = await admitIncidents(incidents, {
    state: deps.state,
    queue: deps.queue,
    dedupWindowSeconds: deps.dedupWindowSeconds,
    nowMs: deps.nowMs,
  }, skipped);
  return reply(202, { ...report, skipped: report.skipped.slice(0, 50) }, report);
}
