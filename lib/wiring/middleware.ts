import type { MiddlewareObj } from '@middy/core';

const LEVELS = { info: 0, warn: 1, error: 2 } as const;
// Read directly (not via config): logging must work even when the configuration is what failed.
const threshold = LEVELS[(process.env.HEALER_LOG_LEVEL ?? 'info') as keyof typeof LEVELS] ?? 0;

/** One JSON log line per event: CloudWatch Logs Insights can query it, humans can read it. */
export function log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold) return;
  const line = JSON.stringify({ level, message, ...fields, at: new Date().toISOString() });
  if (level === 'error') console.error(line);
  else console.log(line);
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
