/**
 * EKS clusters named only by name and region (issue 10, many clusters): the endpoint and CA are
 * asked of EKS (DescribeCluster, a SigV4-signed GET) with the function's own role, against moto's
 * real EKS API (the cluster is created there with the AWS SDK's own EKS client). moto
 * makes up a CA that is not a certificate, so what it proves is the request, the lookup by name
 * and region, and that an answer the healer cannot trust is refused with the cluster named; the
 * accepted answer is the pure eksEndpointFrom's (test/unit/clusters.test.ts).
 */
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEksEndpoint, EksLookupFailed } from '../../lib/adapters/eks-cluster.js';
import { loadConfig } from '../../lib/config/config.js';
import { kubeConfigFor } from '../../lib/wiring/kube.js';
import { localAws } from '../support/dynamodb-local.js';
import { motoUnavailable, startMoto, type Moto } from '../support/moto.js';
import { mustRun } from '../support/process.js';

describe.skipIf(motoUnavailable() !== undefined && !mustRun())('EKS endpoint discovery on moto', () => {
  let moto: Moto;
  const credentials = localAws().credentials;

  beforeAll(async () => {
    moto = await startMoto();
    const eks = new EKSClient({ endpoint: moto.endpoint, region: 'eu-west-1', credentials });
    await eks.send(new CreateClusterCommand({
      name: 'prod-eu',
      roleArn: 'arn:aws:iam::123456789012:role/eks',
      resourcesVpcConfig: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] },
    }));
    eks.destroy();
  }, 90_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it('finds the cluster by name and region, and refuses an answer whose CA is not a certificate', async () => {
    // Act
    const lookup = describeEksEndpoint({ clusterName: 'prod-eu', region: 'eu-west-1' }, { endpoint: moto.endpoint, credentials });

    // Assess: moto answered for this cluster (a missing one reads "not found"), and its made-up CA is not trusted
    await expect(lookup).rejects.toThrow(EksLookupFailed);
    await expect(lookup).rejects.toThrow('EKS cluster "prod-eu" in eu-west-1: DescribeCluster gave no PEM certificate authority');
  });

  it('says which cluster and region were not found', async () => {
    // Act: the same name in another region is another cluster
    const elsewhere = describeEksEndpoint({ clusterName: 'prod-eu', region: 'us-east-1' }, { endpoint: moto.endpoint, credentials });

    // Assess
    await expect(elsewhere).rejects.toThrow('EKS cluster "prod-eu" not found in us-east-1: check the cluster\'s name and region in the registry');
  });

  it('names the route and the permission when EKS cannot be reached, after trying again', async () => {
    // Act: nothing listens there
    const unreachable = describeEksEndpoint({ clusterName: 'prod-eu', region: 'eu-west-1' }, { endpoint: 'http://127.0.0.1:9', credentials });

    // Assess
    await expect(unreachable).rejects.toThrow(/DescribeCluster failed \(TypeError: fetch failed\); the function needs a route to the EKS API and eks:DescribeCluster/);
  });

  it('is where the worker gets a registry entry\'s endpoint: a failed lookup stops it before any cluster request', async () => {
    // Prepare: a registry entry with only the cluster's name and region, as a many-cluster stack writes it
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_EKS: moto.endpoint, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
    try {
      const config = loadConfig({
        HEALER_STATE_TABLE: 'state', HEALER_AUDIT_TABLE: 'audit', AWS_REGION: 'eu-west-1',
        HEALER_CLUSTER_NAME: 'prod-eu', HEALER_EKS_CLUSTER_NAME: 'prod-eu',
      });
      expect(config.eks).toEqual({ clusterName: 'prod-eu', region: 'eu-west-1' });

      // Act
      const kubeConfig = kubeConfigFor(config);

      // Assess
      await expect(kubeConfig).rejects.toThrow('EKS cluster "prod-eu" in eu-west-1: DescribeCluster gave no PEM certificate authority');
    } finally {
      for (const key of ['AWS_ENDPOINT_URL_EKS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});
