/**
 * EKS sign-in in-process (issue 10 item 1), wired into the healer's KubeConfig: with the EKS
 * settings every request to the real kube-apiserver carries the token source's current bearer
 * token, asked for per request; a kubeconfig that needs an exec plugin is refused when it is loaded,
 * with a message naming the EKS settings. The tokens here are ServiceAccount tokens the apiserver
 * accepts: the EKS token itself is proved against aws-iam-authenticator elsewhere.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { KubeconfigRefused, KubernetesCluster, loadKubeConfig } from '../../lib/adapters/kubernetes.js';
import { systemClock } from '../../lib/ports/index.js';
import { acquireControlPlane, controlPlaneAvailable, type ClusterInfo } from '../support/control-plane.js';
import { anIncident } from '../fixtures/builders.js';

const available = controlPlaneAvailable();

/** What `aws eks update-kubeconfig` writes: the user runs `aws eks get-token`. */
const EXEC_KUBECONFIG = [
  'apiVersion: v1', 'kind: Config', 'current-context: prod',
  'clusters: [{name: prod, cluster: {server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com", certificate-authority-data: "LS0t"}}]',
  'users:',
  '- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod',
  '  user:',
  '    exec:',
  '      apiVersion: client.authentication.k8s.io/v1beta1',
  '      command: aws',
  '      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod]',
  'contexts: [{name: prod, context: {cluster: prod, user: "arn:aws:eks:eu-west-1:111122223333:cluster/prod"}}]', '',
].join('\n');

describe('a kubeconfig that needs a plugin', () => {
  it('is refused when loaded, naming the EKS settings', () => {
    // Act
    const load = () => loadKubeConfig({ kubeconfigYaml: EXEC_KUBECONFIG });

    // Assess
    expect(load).toThrow(KubeconfigRefused);
    expect(load).toThrow(/exec plugin \(aws\).*HEALER_EKS_CLUSTER_NAME, HEALER_EKS_ENDPOINT and HEALER_EKS_CA_DATA/);
  });

  it('is loaded from the developer\'s own default kubeconfig, where the plugin can run', async () => {
    // Prepare
    const saved = process.env.KUBECONFIG;
    const file = path.join(os.tmpdir(), `eks-exec-${process.pid}.kubeconfig`);
    await fs.writeFile(file, EXEC_KUBECONFIG);
    process.env.KUBECONFIG = file;
    try {
      // Act
      const kc = loadKubeConfig({ allowPlugins: true });

      // Assess
      expect(kc.getCurrentUser()?.exec).toBeDefined();
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
      await fs.rm(file, { force: true });
    }
  });
});

describe.skipIf(!available)('EKS sign-in against the real kube-apiserver', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void> = async () => {};

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
  });
  afterAll(async () => {
    await release();
  });

  function signIn(tokens: { token(): Promise<string> }) {
    return loadKubeConfig({
      eks: { clusterName: 'local', endpoint: cluster.server, caData: Buffer.from(cluster.caCertPem).toString('base64'), tokens },
    });
  }

  it('sends the current token on every request, asking the source each time', async () => {
    // Prepare: a source whose token the test changes between requests
    const asked: string[] = [];
    let current = cluster.healerToken;
    const kc = signIn({ token: () => { asked.push(current); return Promise.resolve(current); } });
    const auth = kc.makeApiClient(AuthenticationV1Api);

    // Act
    const first = await auth.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    current = 'not-a-token';
    const second = await auth.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }).then(
      () => 'accepted',
      (e: unknown) => (e as { code?: number }).code,
    );

    // Assess: the healer's identity first, then the changed token was sent and refused
    expect(first.status?.userInfo?.username).toBe('system:serviceaccount:k8s-healer:k8s-healer');
    expect(second).toBe(401);
    expect(asked).toEqual([cluster.healerToken, 'not-a-token']);
  });

  it('reads the cluster through the healer\'s adapter with the signed-in identity', async () => {
    // Prepare
    const reader = new KubernetesCluster(signIn({ token: () => Promise.resolve(cluster.healerToken) }), { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock);

    // Act: a pod that does not exist reads as absent (a 404), not as an authentication failure
    const evidence = await reader.gatherEvidence(anIncident({ subject: { kind: 'Pod', namespace: 'default', name: 'no-such-pod' } }));

    // Assess
    expect(evidence.exists).toBe(false);
  });
});
