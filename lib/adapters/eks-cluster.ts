/**
 * An EKS cluster's API endpoint and CA, asked of the EKS API (DescribeCluster) with the function's
 * own role: what `aws eks update-kubeconfig` looks up. A registry entry then needs only the cluster's
 * name and region, so dozens of clusters fit in Lambda's 4 KB environment (a CA alone is ~1.5 KB).
 * The answer is checked like configured values are: a cluster still being created, or an answer
 * without an https endpoint or a PEM CA, is an error that names the cluster, never a guess.
 */
import { EKS_ENDPOINT, isPemCertificateBase64 } from '../config/clusters.js';

export interface EksEndpoint {
  readonly endpoint: string;
  readonly caData: string;
}

/** What DescribeCluster answers, as far as the healer reads it. */
export interface DescribedCluster {
  readonly status?: string;
  readonly endpoint?: string;
  readonly certificateAuthority?: { readonly data?: string };
}

export class EksLookupFailed extends Error {
  override readonly name = 'EksLookupFailed';
}

/** Pure: the endpoint and CA from a DescribeCluster answer, or why they cannot be used. */
export function eksEndpointFrom(cluster: { clusterName: string; region: string }, described: DescribedCluster | undefined): EksEndpoint {
  const which = `EKS cluster "${cluster.clusterName}" in ${cluster.region}`;
  if (!described) throw new EksLookupFailed(`${which}: DescribeCluster returned no cluster`);
  // ACTIVE and UPDATING serve requests; CREATING has no endpoint yet, DELETING and FAILED will not serve.
  if (described.status !== undefined && described.status !== 'ACTIVE' && described.status !== 'UPDATING') {
    throw new EksLookupFailed(`${which} is ${described.status}, not ACTIVE`);
  }
  const endpoint = described.endpoint?.trim();
  if (!endpoint || !EKS_ENDPOINT.test(endpoint)) throw new EksLookupFailed(`${which}: DescribeCluster gave no https endpoint`);
  const caData = described.certificateAuthority?.data?.trim();
  if (!caData || !isPemCertificateBase64(caData)) throw new EksLookupFailed(`${which}: DescribeCluster gave no PEM certificate authority`);
  return Object.freeze({ endpoint, caData });
}

/**
 * Asks EKS (eks:DescribeCluster) for the cluster's endpoint and CA. The client is loaded on first
 * use: a stack whose entries carry their endpoint and CA never loads it. Endpoints follow the SDK's
 * resolution (AWS_ENDPOINT_URL_EKS for local runs; the EKS interface endpoint in a private VPC).
 */
export async function describeEksEndpoint(
  cluster: { clusterName: string; region: string },
  options: { endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Promise<EksEndpoint> {
  const { EKSClient, DescribeClusterCommand, ResourceNotFoundException } = await import('@aws-sdk/client-eks');
  const { LAMBDA_CLIENT_DEFAULTS } = await import('./aws-clients.js');
  const client = new EKSClient({ ...LAMBDA_CLIENT_DEFAULTS, requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler }, region: cluster.region, ...options });
  try {
    const answer = await client.send(new DescribeClusterCommand({ name: cluster.clusterName }));
    return eksEndpointFrom(cluster, answer.cluster);
  } catch (error) {
    if (error instanceof EksLookupFailed) throw error;
    if (error instanceof ResourceNotFoundException) {
      throw new EksLookupFailed(`EKS cluster "${cluster.clusterName}" not found in ${cluster.region}: check the cluster's name and region in the registry`);
    }
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new EksLookupFailed(`EKS cluster "${cluster.clusterName}" in ${cluster.region}: DescribeCluster failed (${reason}); the function's role needs eks:DescribeCluster`);
  } finally {
    client.destroy();
  }
}
