import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { parseAlertmanagerBody } from './alertmanager.js';
import { alertsToIncidents, type AlertMappings, type SkipReason } from './incidents.js';
import { admitIncidents, type IntakeReport } from '../pipeline/intake.js';

export interface WebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined | null;
  readonly isBase64Encoded?: boolean;
}

/** What the webhook did with a payload it accepted: the intake report, plus why alerts were skipped. */
export interface WebhookReport extends IntakeReport {
  /** Alerts skipped, counted by reason (only reasons that occurred). */
  readonly skippedByReason: Readonly<Partial<Record<SkipReason, number>>>;
}

export interface WebhookResponse {
  readonly statusCode: number;
  readonly body: string;
  readonly report?: WebhookReport;
}

/** Reasons echoed in the response body (each is also counted in skippedByReason). */
const MAX_REASONS_IN_BODY = 50;

export interface WebhookDeps {
  /** The stack's bearer token, good for every cluster; undefined when not configured. */
  readonly expectedToken: string | undefined;
  /** Each cluster's own bearer token (distinct): a request carrying one may speak for that cluster only. */
  readonly clusterTokens?: readonly ClusterToken[];
  /**
   * The clusters configured with a token of their own, whether or not it could be read: the
   * stack's token and basic auth never speak for them (an unreadable token shuts its cluster out).
   */
  readonly ownTokenClusters?: readonly string[];
  /** `user:password` for basic auth (HEALER_WEBHOOK_BASIC_AUTH); undefined disables it. */
  readonly basicAuth?: string | undefined;
  /** Extra alert → incident rules (HEALER_ALERT_MAPPINGS), merged over the defaults. */
  readonly alertMappings?: AlertMappings;
  readonly state: StateStore;
  readonly queue: IncidentQueue;
  /** The registry's cluster names: each alert is routed by its `cluster` label to one of them. */
  readonly clusters: readonly string[];
  readonly dedupWindowSeconds: number;
  readonly maxBodyBytes: number;
  readonly maxAlerts: number;
  readonly nowMs: number;
  /** Counts admitted and deduplicated incidents. */
  readonly metrics?: Metrics;
}

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

export type ClusterToken = { readonly cluster: string; readonly token: string };

/** ok with `cluster`: the credentials were that cluster's own, and bind the request to it. */
export type AuthResult = { readonly ok: true; readonly cluster?: string } | { readonly ok: false; readonly status: 401 | 403; readonly error: string };

const MAX_AUTHORIZATION = 8192;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Bearer (`Authorization: Bearer <token>`) or basic (`Authorization: Basic base64(user:password)`,
 * RFC 7617, what Alertmanager's `http_config.basic_auth` sends). Both compare in constant time.
 * 401: no usable credentials (missing, malformed, or a scheme that is not configured);
 * 403: credentials presented and wrong.
 */
export function authenticate(authorization: string | undefined, expected: { token?: string | undefined; basic?: string | undefined; clusterTokens?: readonly ClusterToken[] | undefined }): AuthResult {
  const token = expected.token || undefined;
  const basic = expected.basic || undefined;
  const clusterTokens = (expected.clusterTokens ?? []).filter((c) => c.token.length > 0);
  const bearer = token !== undefined || clusterTokens.length > 0;
  const accepted = [bearer ? 'a bearer token' : '', basic ? 'basic auth' : ''].filter(Boolean).join(' or ') || 'nothing (no credentials configured)';
  const value = (authorization ?? '').trim();
  if (value.length === 0) return { ok: false, status: 401, error: `missing Authorization header: this webhook accepts ${accepted}` };
  if (value.length > MAX_AUTHORIZATION) return { ok: false, status: 401, error: 'Authorization header too long' };
  const match = /^([A-Za-z]+)\s+(\S+)$/.exec(value);
  const scheme = match?.[1]?.toLowerCase();
  const credentials = match?.[2] ?? '';
  if (scheme === 'bearer') {
    if (!bearer) return { ok: false, status: 401, error: `bearer tokens are not configured: this webhook accepts ${accepted}` };
    // Every token is compared (no early exit): which one matched does not show in the timing.
    const owners = clusterTokens.filter((c) => tokensMatch(credentials, c.token)).map((c) => c.cluster);
    const stack = token !== undefined && tokensMatch(credentials, token);
    // A token two places hold binds to neither: refused, never guessed (the wiring refuses it at start too).
    if (owners.length + (stack ? 1 : 0) > 1) return { ok: false, status: 403, error: 'this token is configured for more than one cluster' };
    if (owners[0] !== undefined) return { ok: true, cluster: owners[0] };
    return stack ? { ok: true } : { ok: false, status: 403, error: 'invalid token' };
  }
  if (scheme === 'basic') {
    if (!basic) return { ok: false, status: 401, error: `basic auth is not configured: this webhook accepts ${accepted}` };
    const decoded = BASE64.test(credentials) ? Buffer.from(credentials, 'base64').toString('utf8') : '';
    if (!decoded.includes(':')) return { ok: false, status: 401, error: 'malformed basic credentials: expected base64(user:password)' };
    return tokensMatch(decoded, basic) ? { ok: true } : { ok: false, status: 403, error: 'invalid basic auth credentials' };
  }
  return { ok: false, status: 401, error: `unsupported Authorization scheme: this webhook accepts ${accepted}` };
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

const reply = (statusCode: number, payload: Record<string, unknown>, report?: WebhookReport): WebhookResponse => ({
  statusCode,
  body: JSON.stringify(payload),
  report,
});

/**
 * Alertmanager → incidents → dedup → queue. No cluster or model work here: the webhook must
 * answer fast so that alert storms and retries never turn into duplicate fixes.
 */
export async function handleWebhook(request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const auth = authenticate(header(request.headers, 'authorization'), { token: deps.expectedToken, basic: deps.basicAuth, clusterTokens: deps.clusterTokens });
  if (!auth.ok) return reply(auth.status, { error: auth.error });
  // A cluster's own token speaks for that cluster only, whatever cluster label its alerts carry;
  // the stack's credentials, for the clusters without one.
  const ownToken = new Set(deps.ownTokenClusters ?? []);
  const clusters = auth.cluster !== undefined ? [auth.cluster] : deps.clusters.filter((c) => !ownToken.has(c));

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
  const { incidents, skipped, skippedByReason, resolved } = alertsToIncidents(parsed.payload.alerts, {
    clusters,
    nowIso,
    ...(deps.alertMappings ? { mappings: deps.alertMappings } : {}),
  });
  const admitted = await admitIncidents(incidents, {
    state: deps.state,
    queue: deps.queue,
    dedupWindowSeconds: deps.dedupWindowSeconds,
    nowMs: deps.nowMs,
    metrics: deps.metrics,
  }, skipped);
  const report: WebhookReport = { ...admitted, skippedByReason };
  // Resolved alerts are counted, never queued; truncatedAlerts says Alertmanager's max_alerts hid some.
  const truncatedAlerts = parsed.payload.truncatedAlerts ?? 0;
  return reply(202, {
    ...report,
    skipped: report.skipped.slice(0, MAX_REASONS_IN_BODY),
    resolved,
    ...(truncatedAlerts > 0 ? { truncatedAlerts } : {}),
  }, report);
}
