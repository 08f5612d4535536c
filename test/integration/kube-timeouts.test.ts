/**
 * A hung Kubernetes API must not run the worker into Lambda's timeout (issue 9 item 5): every
 * request made through the healer's KubeConfig is abandoned after HEALER_KUBE_REQUEST_TIMEOUT_SECONDS,
 * and never later than the deadline of the current invocation. The "API server" is a real TCP
 * server on 127.0.0.1 that accepts connections and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesCluster, loadKubeConfig } from '../../lib/adapters/kubernetes.js';
import { systemClock } from '../../lib/ports/index.js';
import { anIncident } from '../fixtures/builders.js';

describe('Kubernetes requests against an API server that never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let port = 0;
  const kubeconfigYaml = () => [
    'apiVersion: v1', 'kind: Config', 'current-context: hung',
    `clusters: [{name: hung, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
    'users: [{name: healer, user: {token: not-a-real-token}}]',
    'contexts: [{name: hung, context: {cluster: hung, user: healer}}]', '',
  ].join('\n');
  // No clock asserts: a request that is never abandoned hangs, and the test's own timeout fails it.
  const failureOf = (work: Promise<unknown>) => work.then(() => undefined, (e: unknown) => e);

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up on each request after the configured timeout', async () => {
    // Prepare
    const kubeConfig = loadKubeConfig({ kubeconfigYaml: kubeconfigYaml(), requestTimeoutMs: 1_000 });
    const cluster = new KubernetesCluster(kubeConfig, { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock);

    // Act
    const error = await failureOf(cluster.placementOf(anIncident()));

    // Assess: abandoned (a failure SQS retries), not a hang and not another kind of error.
    expect(String(error)).toMatch(/abort/i);
  }, 20_000);

  it('never outlives the invocation\'s deadline, even when the timeout is longer', async () => {
    // Prepare: a 60 s timeout, but the Lambda has 1.5 s left.
    const kubeConfig = loadKubeConfig({ kubeconfigYaml: kubeconfigYaml(), requestTimeoutMs: 60_000 });
    kubeConfig.setDeadline(Date.now() + 1_500);
    const cluster = new KubernetesCluster(kubeConfig, { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock);

    // Act
    const error = await failureOf(cluster.placementOf(anIncident()));

    // Assess: abandoned at the deadline; with the 60 s timeout alone it would outlive the test's 20 s.
    expect(String(error)).toMatch(/abort/i);
  }, 20_000);
});
