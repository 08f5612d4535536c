import type { MiddlewareObj } from '@middy/core';
import { redactDeep } from '../evidence/redact.js';
import { requestFailed } from '../metrics/healer-metrics.js';
import type { Metrics } from '../ports/metrics.js';

const LEVELS = { info: 0, warn: 1, error: 2 } as const;
// Read directly (not via config): logging must work even when the configuration is what failed.
const threshold = LEVELS[(process.env.HEALER_LOG_LEVEL ?? 'info') as keyof typeof LEVELS] ?? 0;

/** Fields every line of the current invocation carries (set by lib/wiring/observability.ts). */
let context: Readonly<Record<string, unknown>> = {};

export function setLogContext(fields: Readonly<Record<string, unknown>>): void {
  context = fields;
}

/** Text written in the code: a string literal or a union of them, never a string built at run time
 * (a template with a placeholder is refused too). */
export type LiteralText<M extends string> = Record<never, never> extends Record<M, 1> ? never : M;

/**
 * One JSON log line per event: CloudWatch Logs Insights can query it, humans can read it. Written
 * whole to stdout/stderr rather than through console, which the Lambda JSON log format would wrap
 * as a string.
 *
 * What the line carries from outside (field values: an error message can quote cluster text) passes
 * the one redaction step, keys and all; the healer's own words do not: the level, the message (a
 * string literal, checked by its type), the invocation's function name and request id (Lambda's),
 * the timestamp, and a field of its own (OWN_FIELDS) holding a number, boolean or nothing.
 * Redacting those found nothing and made the first line of every cold start compile every
 * redaction rule (about 5 ms of the webhook's answer to its first request, bench/cold-start.ts).
 */
export function log<M extends string>(level: 'info' | 'warn' | 'error', message: LiteralText<M>, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold) return;
  const line = `${JSON.stringify({ level, message, ...context, ...redactedFields(fields), at: new Date().toISOString() })}\n`;
  if (level === 'error') process.stderr.write(line);
  else process.stdout.write(line);
}

/**
 * The names of the healer's own numeric and boolean log fields. A fixed list, not a pattern: a map
 * spread into the fields (counts by namespace, say) must not write its keys unredacted because
 * they look like code. A name missing here is only redacted, which costs time, never a leak.
 */
const OWN_FIELDS: ReadonlySet<string> = new Set([
  'statusCode', 'received', 'enqueued', 'duplicates', 'receives',
  'objects', 'findings', 'groups', 'incidents',
]);
const isPlainScalar = (v: unknown): boolean => v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean';

/** The fields with everything that may come from outside redacted (lib/evidence/redact.ts). */
export function redactedFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  const outside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (OWN_FIELDS.has(key) && isPlainScalar(value)) own[key] = value;
    else outside[key] = value;
  }
  return Object.keys(outside).length === 0 ? own : { ...redactDeep(outside), ...own };
}

/**
 * HTTP functions never leak internals: an unexpected error becomes a 500 with a request id
 * (Alertmanager retries 5xx, so nothing is lost) and the details go to the log only; with
 * metrics, each counts as RequestFailures, which the request-failures alarm watches.
 */
export function httpErrors(metrics?: Metrics): MiddlewareObj<unknown, { statusCode: number; body: string; headers?: Record<string, string> }> {
  return {
    name: 'httpErrors',
    onError: (request) => {
      const requestId = request.context.awsRequestId;
      log('error', 'request failed', { requestId, error: request.error?.message, stack: request.error?.stack });
      // Caught here, so Lambda's Errors metric never counts it: counted for the alarm instead
      // (flushed by `observed`, whose onError runs after this one).
      metrics?.record(requestFailed(request.context.functionName));
      request.response = {
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'internal error; the sender should retry', requestId }),
      };
    },
  };
}
