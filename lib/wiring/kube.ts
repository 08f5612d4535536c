import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { HealerConfig } from '../config/config.js';
import { EksTokenSource } from '../adapters/eks-token.js';
import { describeEksEndpoint, type EksEndpoint } from '../adapters/eks-cluster.js';
import type { EksSettings } from '../config/clusters.js';
import { loadKubeConfig, type BoundedKubeConfig } from '../adapters/kubernetes.js';
import { systemClock } from '../ports/index.js';
import { secretFrom } from './common.js';

/**
 * One per EKS cluster and region, per container: a warm scan or worker reuses each cluster's token
 * until it is due for renewal. A token names its cluster (x-k8s-aws-id), so one cluster's token
 * is never offered to another's API server.
 */
const tokenSources = new Map<string, EksTokenSource>();

export function eksTokenSource(eks: { clusterName: string; region: string }): EksTokenSource {
  const key = `${eks.region}\u0000${eks.clusterName}`;
  let source = tokenSources.get(key);
  if (!source) {
    source = new EksTokenSource({ clusterName: eks.clusterName, region: eks.region, credentials: defaultProvider(), clock: systemClock });
    tokenSources.set(key, source);
  }
  return source;
}

/**
 * Endpoint and CA of each EKS cluster whose entry leaves them out, asked of EKS once per container.
 * A failed lookup is forgotten, so the next invocation asks again instead of failing for good.
 */
const endpoints = new Map<string, Promise<EksEndpoint>>();

export function eksEndpointOf(eks: EksSettings): Promise<EksEndpoint> {
  if (eks.endpoint !== undefined && eks.caData !== undefined) return Promise.resolve({ endpoint: eks.endpoint, caData: eks.caData });
  const key = `${eks.region}\u0000${eks.clusterName}`;
  let lookup = endpoints.get(key);
  if (!lookup) {
    lookup = describeEksEndpoint(eks, { credentials: defaultProvider() });
    endpoints.set(key, lookup);
    lookup.catch(() => endpoints.delete(key));
  }
  return lookup;
}

/**
 * The KubeConfig of a function for its one cluster: on EKS (HEALER_EKS_*) it signs in with the function's own IAM role,
 * a fresh token per request, and reads no kubeconfig; else the kubeconfig from SSM
 * (HEALER_KUBECONFIG_PARAM), which must hold a static identity, or, on a developer's machine with
 * no parameter, the default kubeconfig (exec plugins allowed there: `aws` is at hand).
 */
export async function kubeConfigFor(config: HealerConfig, requestTimeoutMs = config.kubeRequestTimeoutSeconds * 1000): Promise<BoundedKubeConfig> {
  // With several clusters the stack's configuration names none: a client is built only from one
  // cluster's configuration (clusterConfig), so nothing can reach a cluster it did not mean to.
  if (config.clusters.length !== 1 || config.clusters[0]?.name !== config.clusterName) {
    throw new Error(`${config.clusters.length} clusters are configured: pick one (clusterConfig) before reaching a cluster`);
  }
  if (config.eks) {
    const { clusterName } = config.eks;
    const { endpoint, caData } = await eksEndpointOf(config.eks);
    const tokens = eksTokenSource(config.eks);
    return loadKubeConfig({ requestTimeoutMs, eks: { clusterName, endpoint, caData, tokens } });
  }
  if (!config.kubeconfigParam) return loadKubeConfig({ requestTimeoutMs, allowPlugins: true });
  const kubeconfigYaml = await secretFrom(undefined, config.kubeconfigParam, 'kubeconfig');
  return loadKubeConfig({ kubeconfigYaml, requestTimeoutMs });
}
