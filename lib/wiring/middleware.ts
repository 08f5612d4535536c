import type { MiddlewareObj } from '@middy/core';
import { redactDeep } from '../evidence/redact.js';

const LEVELS = { info: 0, warn: 1, error: 2 } as const;
// Read directly (not via config): logging must work even when the configuration is what failed.
const threshold = LEVELS[(process.env.HEALER_LOG_LEVEL ?? 'info') as keyof typeof LEVELS] ?? 0;

/** Fields every line of the current invocation carries (set by lib/wiring/observability.ts). */
let context: Readonly<Record<string, unknown>> = {};

export function setLogContext(fields: Readonly<Record<string, unknown>>): void {
  context = fields;
}

/**
 * One JSON log line per event: CloudWatch Logs Insights can query it, humans can read it. The line
 * passes the one redaction step (an error message can quote cluster text), and is written whole to
 * stdout/stderr rather than through console, which the Lambda JSON log format would wrap as a string.
 */
export function log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold) return;
  const line = `${JSON.stringify(redactDeep({ level, message, ...context, ...fields, at: new Date().toISOString() }))}\n`;
  if (level === 'error') process.stderr.write(line);
  else process.stdout.write(line);
}

/**
 * HTTP functions never leak internals: an unexpected error becomes a 500 with a request id
 * (Alertmanager retries 5xx, so nothing is lost) and the details go to the log only.
 */
export function httpErrors(): MiddlewareObj<unknown, { statusCode: number; body: string; headers?: Record<string, string> }> {
  return {
    name: 'httpErrors',
    onError: (request) => {
      const requestId = request.context.awsRequestId;
      log('error', 'request failed', { requestId, error: request.error?.message, stack: request.error?.stack });
      request.response = {
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'internal error; the sender should retry', requestId }),
      };
    },
  };
}
