/**
 * An EKS cluster's API endpoint and CA, asked of the EKS API (DescribeCluster) with the function's
 * own role: what `aws eks update-kubeconfig` looks up. A registry entry then needs only the cluster's
 * name and region, so dozens of clusters fit in Lambda's 4 KB environment (a CA alone is ~1.5 KB).
 * The answer is checked like configured values are: a cluster still being created, or an answer
 * without an https endpoint or a PEM CA, is an error that names the cluster, never a guess.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
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
 * The EKS API host of a region, or the endpoint AWS_ENDPOINT_URL_EKS / AWS_ENDPOINT_URL names (the
 * SDK's convention). The answer names the cluster's endpoint and the CA the healer then trusts, and
 * the healer's token follows it: plain http is refused except to this machine (a local stack).
 */
export function eksApiEndpoint(region: string, env: Readonly<Record<string, string | undefined>> = process.env): URL {
  const configured = env['AWS_ENDPOINT_URL_EKS'] ?? env['AWS_ENDPOINT_URL'];
  const url = new URL(configured ?? (region.startsWith('cn-') ? `https://eks.${region}.amazonaws.com.cn` : `https://eks.${region}.amazonaws.com`));
  return trustedEksApi(url);
}

function trustedEksApi(url: URL): URL {
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return url;
  throw new EksLookupFailed(`the EKS API endpoint ${url.origin} is not https: the cluster's CA and endpoint would arrive unauthenticated`);
}

const ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 3_000;

/**
 * Asks EKS (eks:DescribeCluster: `GET /clusters/{name}`, SigV4-signed with the function's own
 * credentials) for the cluster's endpoint and CA. Signed with the signer the EKS token already
 * uses rather than through @aws-sdk/client-eks, which would add about 300 KB to three bundles
 * for one GET. Throttling, 5xx and network errors are tried again, 3 attempts of 3 s at most.
 */
export async function describeEksEndpoint(
  cluster: { clusterName: string; region: string },
  options: { endpoint?: string; credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity },
): Promise<EksEndpoint> {
  const which = `EKS cluster "${cluster.clusterName}" in ${cluster.region}`;
  const base = options.endpoint ? trustedEksApi(new URL(options.endpoint)) : eksApiEndpoint(cluster.region);
  const path = `${base.pathname.replace(/\/$/, '')}/clusters/${encodeURIComponent(cluster.clusterName)}`;
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const credentials = typeof options.credentials === 'function' ? await options.credentials() : options.credentials;
    const signer = new SignatureV4({ service: 'eks', region: cluster.region, credentials, sha256: Sha256, uriEscapePath: true });
    const signed = await signer.sign({
      method: 'GET', protocol: base.protocol, hostname: base.hostname, ...(base.port ? { port: Number(base.port) } : {}), path,
      headers: { host: base.host, accept: 'application/json' },
    });
    let status: number;
    let body: string;
    try {
      const response = await fetch(`${base.protocol}//${base.host}${path}`, { headers: signed.headers, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
      status = response.status;
      body = await response.text();
    } catch (error) {
      last = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      continue;
    }
    if (status === 200) {
      let parsed: { cluster?: DescribedCluster } | undefined;
      try {
        parsed = JSON.parse(body) as { cluster?: DescribedCluster };
      } catch {
        throw new EksLookupFailed(`${which}: DescribeCluster answered with something that is not JSON`);
      }
      return eksEndpointFrom(cluster, parsed.cluster);
    }
    const type = errorTypeOf(body);
    if (status === 404) throw new EksLookupFailed(`EKS cluster "${cluster.clusterName}" not found in ${cluster.region}: check the cluster's name and region in the registry`);
    if (status === 401 || status === 403) throw new EksLookupFailed(`${which}: DescribeCluster refused (HTTP ${status}${type ? ` ${type}` : ''}): the function's role needs eks:DescribeCluster`);
    last = `HTTP ${status}${type ? ` ${type}` : ''}`;
    // Throttling and server errors may pass; anything else will not.
    if (status !== 429 && status < 500) break;
  }
  throw new EksLookupFailed(`${which}: DescribeCluster failed (${last}); the function needs a route to the EKS API and eks:DescribeCluster`);
}

/** The error type of an AWS REST-JSON error body or header-less answer, when it says one. */
function errorTypeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { __type?: unknown; code?: unknown };
    const type = typeof parsed.__type === 'string' ? parsed.__type : typeof parsed.code === 'string' ? parsed.code : undefined;
    return type?.split('#').pop()?.slice(0, 100);
  } catch {
    return undefined;
  }
}
