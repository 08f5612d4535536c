import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { HealerConfig } from '../config/config.js';
import { EksTokenSource } from '../adapters/eks-token.js';
import { loadKubeConfig, type BoundedKubeConfig } from '../adapters/kubernetes.js';
import { systemClock } from '../ports/index.js';
import { secretFrom } from './common.js';

/** One per container: a warm scan or worker reuses its token until it is due for renewal. */
let tokenSource: EksTokenSource | undefined;

/**
 * The KubeConfig of a function: on EKS (HEALER_EKS_*) it signs in with the function's own IAM role,
 * a fresh token per request, and reads no kubeconfig; else the kubeconfig from SSM
 * (HEALER_KUBECONFIG_PARAM), which must hold a static identity, or, on a developer's machine with
 * no parameter, the default kubeconfig (exec plugins allowed there: `aws` is at hand).
 */
export async function kubeConfigFor(config: HealerConfig, requestTimeoutMs = config.kubeRequestTimeoutSeconds * 1000): Promise<BoundedKubeConfig> {
  if (config.eks) {
    const { clusterName, endpoint, caData, region } = config.eks;
    tokenSource ??= new EksTokenSource({ clusterName, region, credentials: defaultProvider(), clock: systemClock });
    const tokens = tokenSource;
    return loadKubeConfig({ requestTimeoutMs, eks: { clusterName, endpoint, caData, tokens } });
  }
  if (!config.kubeconfigParam) return loadKubeConfig({ requestTimeoutMs, allowPlugins: true });
  const kubeconfigYaml = await secretFrom(undefined, config.kubeconfigParam, 'kubeconfig');
  return loadKubeConfig({ kubeconfigYaml, requestTimeoutMs });
}
