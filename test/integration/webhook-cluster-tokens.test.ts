import { readFileSync } from 'node:fs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { serveHttpApi } from '../../lib/local/http-api.js';

/**
 * Each cluster's own webhook token, on DynamoDB Local and moto (SQS, SSM): the alertmanager-webhook
 * Lambda handler with a registry of four clusters. prod-eu and prod-us have their own tokens,
 * staging names one whose parameter was never stored, lab has none. A request with prod-eu's token
 * speaks for prod-eu only: an alert a rule in prod-eu labelled `cluster: prod-us` (a rule label
 * beats Prometheus's external label) reaches nothing of prod-us, and an alert without the label is
 * prod-eu's. The stack's token speaks only for lab, the one cluster without a token of its own;
 * staging's unreadable token shuts out staging alone.
 */
const TOKENS = { 'prod-eu': 'eu-token-0123456789abcdef', 'prod-us': 'us-token-0123456789abcdef' } as const;
const param = (cluster: string) => `/k8s-healer/test/clusters/${cluster}/webhook-token`;
const REGISTRY = [
  ...Object.keys(TOKENS).map((name) => ({ name, kubeconfigParam: `/k8s-healer/test/clusters/${name}/kubeconfig`, webhookTokenParam: param(name) })),
  { name: 'staging', kubeconfigParam: '/k8s-healer/test/clusters/staging/kubeconfig', webhookTokenParam: param('staging') },
  { name: 'lab', kubeconfigParam: '/k8s-healer/test/clusters/lab/kubeconfig' },
];

let env: HealerEnv;
let url: string;
let close: () => Promise<void>;

/** A payload captured from a real Alertmanager, its one alert carrying each of these `cluster` labels (undefined: none). */
function payload(clusters: readonly (string | undefined)[]): string {
  const captured = JSON.parse(readFileSync(new URL('../fixtures/alertmanager/KubeDeploymentReplicasMismatch.json', import.meta.url), 'utf8')) as { alerts: { labels: Record<string, string> }[] };
  const [alert] = captured.alerts;
  if (!alert) throw new Error('fixture has no alert');
  captured.alerts = clusters.map((cluster, i) => ({ ...alert, labels: { ...alert.labels, deployment: `checkout-${i}`, ...(cluster ? { cluster } : {}) } }));
  return JSON.stringify(captured);
}

async function post(token: string, body: string) {
  const response = await fetch(`${url}/alerts`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** The clusters of the incidents now on the queue (received and left to become visible again). */
async function queuedClusters(): Promise<string[]> {
  const { Messages } = await env.moto.sqs().send(new ReceiveMessageCommand({ QueueUrl: env.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
  return (Messages ?? []).map((m) => (JSON.parse(m.Body ?? '{}') as { cluster?: string }).cluster ?? '?').sort();
}

beforeAll(async () => {
  env = await startHealerEnv({
    HEALER_CLUSTER_NAME: 'prod-eu',
    HEALER_CLUSTERS: JSON.stringify(REGISTRY),
  });
  for (const [cluster, token] of Object.entries(TOKENS)) {
    await env.moto.ssm().send(new PutParameterCommand({ Name: param(cluster), Type: 'SecureString', Value: token, Overwrite: true }));
  }
  const { handler } = await import('../../functions/alertmanager-webhook.js');
  ({ url, close } = await serveHttpApi({ 'POST /alerts': handler }));
});

afterAll(async () => {
  await close?.();
  await env?.stop();
});

describe('clusters\' own webhook tokens', () => {
  it('a cluster\'s token speaks for that cluster only: another cluster\'s label is skipped, no label is its own', async () => {
    // Act: prod-eu's Alertmanager sends its own alert, one a rule labelled for prod-us, one unlabelled.
    const response = await post(TOKENS['prod-eu'], payload(['prod-eu', 'prod-us', undefined]));

    // Assess
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ received: 3, enqueued: 2, skippedByReason: { 'other-cluster': 1 } });
    expect(response.json['skipped']).toEqual(['KubeDeploymentReplicasMismatch is for cluster prod-us, not prod-eu']);
    expect(await queuedClusters()).toEqual(['prod-eu', 'prod-eu']);
  });

  it('the stack\'s token speaks only for the clusters without a token of their own, and no unreadable token takes the others down', async () => {
    // Prepare: other deployments than above, so nothing is a duplicate.
    const body = payload(['lab', 'prod-eu', 'staging', 'lab']).replace(/checkout-/g, 'cart-');

    // Act
    const response = await post(env.token, body);
    const fromUs = await post(TOKENS['prod-us'], payload(['prod-us']).replace(/checkout-/g, 'us-'));

    // Assess: lab's alerts are in; prod-eu's and staging's only ever come with their own tokens.
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ received: 4, enqueued: 2, skippedByReason: { 'other-cluster': 2 } });
    expect(response.json['skipped']).toEqual(['KubeDeploymentReplicasMismatch is for cluster prod-eu, not lab', 'KubeDeploymentReplicasMismatch is for cluster staging, not lab']);
    expect(fromUs).toMatchObject({ status: 202, json: { enqueued: 1 } });
  });

  it('refuses a token no cluster holds, and one cluster\'s token with a suffix', async () => {
    // Act
    const answers = [(await post('not-a-token', payload(['prod-eu']))).status, (await post(`${TOKENS['prod-us']}x`, payload(['prod-us']))).status];

    // Assess
    expect(answers).toEqual([403, 403]);
  });
});
