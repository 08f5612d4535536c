import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { serveHttpApi } from '../../lib/local/http-api.js';
import { METRIC } from '../../lib/metrics/healer-metrics.js';

/**
 * An HTTP function's unexpected error, on DynamoDB Local and moto: the alertmanager-webhook Lambda
 * handler with an incident queue that does not exist, so enqueueing fails. The caller gets a 500
 * with a request id and nothing else; Lambda's Errors metric would never count it (the error is
 * caught to answer), so the function counts it as RequestFailures, which an alarm watches.
 */
const fixture = readFileSync(new URL('../fixtures/alertmanager/kube-pod-crashlooping.json', import.meta.url), 'utf8');

let env: HealerEnv;
let url: string;
let close: () => Promise<void>;

beforeAll(async () => {
  env = await startHealerEnv();
  process.env.HEALER_QUEUE_URL = `${env.queueUrl}-deleted`;
  const { handler } = await import('../../functions/alertmanager-webhook.js');
  ({ url, close } = await serveHttpApi({ 'POST /alerts': handler }));
});

afterAll(async () => {
  await close?.();
  await env?.stop();
});

describe('an HTTP function that fails', () => {
  it('answers 500 without internals and counts it for the request-failures alarm', async () => {
    // Prepare: log lines and metrics are written whole to stdout (lib/wiring/middleware.ts).
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(...String(chunk).split('\n').filter((l) => l.startsWith('{')));
      return true;
    });

    // Act
    const response = await fetch(`${url}/alerts`, { method: 'POST', body: fixture, headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' } })
      .finally(() => spy.mockRestore());
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(500);
    expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
    expect(body['error']).toBe('internal error; the sender should retry');
    const documents = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failures = documents.filter((d) => d[METRIC.requestFailures] !== undefined);
    expect(failures).toHaveLength(1);
    // The function is a property (the Lambda function's name; the local server names the route).
    expect(failures[0]).toMatchObject({ [METRIC.requestFailures]: 1, function: 'POST /alerts' });
    expect(JSON.stringify(failures[0]?.['_aws'])).toContain(`"Name":"${METRIC.requestFailures}"`);
  });
});
