import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { localContext } from '../../lib/local/http-api.js';
import { localQueueRoute } from '../../lib/local/queue-route.js';
import { anIncident } from '../fixtures/builders.js';

/** npm start's stand-in for SendMessage: the same untrusted-message parsing as the worker on AWS. */
const TOKEN = 'local-token-0123456789';

function harness() {
  const calls: { enqueued: string[]; verified: unknown[]; said: string[] } = { enqueued: [], verified: [], said: [] };
  const route = localQueueRoute({
    token: TOKEN,
    enqueue: (incident) => {
      calls.enqueued.push(incident.id);
      return Promise.resolve();
    },
    verify: (request) => {
      calls.verified.push(request);
      return Promise.resolve('unknown-action');
    },
    say: (line) => void calls.said.push(line),
  });
  const post = async (body: string, authorization = `Bearer ${TOKEN}`) => {
    const event = { headers: { authorization }, body, isBase64Encoded: false } as unknown as APIGatewayProxyEventV2;
    const response = await route(event, localContext('queue', 1000));
    return { status: response.statusCode, json: JSON.parse(String(response.body)) as Record<string, unknown> };
  };
  return { calls, post };
}

describe('POST /queue of the local run', () => {
  it('refuses a message without the token, and does nothing', async () => {
    const { calls, post } = harness();
    const response = await post(JSON.stringify(anIncident()), 'Bearer wrong');
    expect(response.status).toBe(403);
    expect(calls).toMatchObject({ enqueued: [], verified: [] });
  });

  it('refuses a verification that carries its own plan, before anything is read or done', async () => {
    // Prepare: the forged shape that once scaled any Deployment.
    const plan = { action: 'scale-deployment', target: { kind: 'Deployment', name: 'coredns', namespace: 'kube-system' }, parameters: { replicas: 0 } };
    const { calls, post } = harness();
    // Act
    const response = await post(JSON.stringify({ type: 'verify', incidentId: 'a'.repeat(32), actionId: 'b'.repeat(32), attempt: 1, plan }));
    // Assess
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(/^verification message:/);
    expect(calls).toMatchObject({ enqueued: [], verified: [] });
    expect(calls.said[0]).toMatch(/refused.*nothing read, nothing done/);
  });

  it('passes a verification by ids to the worker, and an incident to the queue', async () => {
    const { calls, post } = harness();
    const verify = await post(JSON.stringify({ type: 'verify', incidentId: 'a'.repeat(32), actionId: 'b'.repeat(32), attempt: 2 }));
    const incident = await post(JSON.stringify(anIncident({ id: 'c'.repeat(32) })));
    expect(verify).toEqual({ status: 200, json: { kind: 'verify', result: 'unknown-action' } });
    expect(calls.verified).toEqual([{ type: 'verify', incidentId: 'a'.repeat(32), actionId: 'b'.repeat(32), attempt: 2 }]);
    expect(incident.status).toBe(202);
    expect(calls.enqueued).toEqual(['c'.repeat(32)]);
  });
});
