/**
 * The EKS bearer token, made in-process from the function's own AWS credentials: what
 * `aws eks get-token` prints, without an exec plugin. A token is a presigned STS
 * GetCallerIdentity URL whose signature covers the `x-k8s-aws-id` header (the cluster name), as
 * `k8s-aws-v1.` + base64url(url) without padding. The cluster's verifier (aws-iam-authenticator
 * in EKS) replays it to STS and maps the caller's IAM ARN to a Kubernetes user and groups; it
 * accepts a token for 15 minutes after its signing time, so one is reused for 14 minutes at most.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString } from '@smithy/core/protocols';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Clock } from '../ports/index.js';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header the verifier requires in the signed headers; its value is the cluster's name. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** How long a token is reused: a minute short of the verifier's 15, for clock skew and the request in flight. */
export const EKS_TOKEN_REUSE_MS = 14 * 60 * 1000;
/** Credentials expiring sooner than this after signing are refreshed first (STS refuses a URL signed with expired ones). */
const CREDENTIAL_MARGIN_MS = 60 * 1000;

export interface EksTokenOptions {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  readonly clock: Clock;
}

/** The STS host the token is presigned for: the regional endpoint, as `aws eks get-token` uses. */
export function stsHost(region: string): string {
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** One token, signed at `signingDate` with the given credentials. */
export async function presignEksToken(options: {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  signingDate: Date;
}): Promise<string> {
  const hostname = stsHost(options.region);
  const signer = new SignatureV4({ service: 'sts', region: options.region, credentials: options.credentials, sha256: Sha256, uriEscapePath: true });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: options.clusterName },
    },
    // X-Amz-Expires is what `aws eks get-token` sends; the verifier applies its own 15 minutes.
    { expiresIn: 60, signingDate: options.signingDate },
  );
  const url = `https://${hostname}/?${buildQueryString(signed.query ?? {})}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/**
 * Hands out the current token, signing a new one when the last is 14 minutes old or its
 * credentials are about to expire. Concurrent callers share one signing.
 */
export class EksTokenSource {
  private current: { token: string; renewAtMs: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly options: EksTokenOptions) {}

  token(): Promise<string> {
    const now = this.options.clock.now();
    if (this.current && now < this.current.renewAtMs) return Promise.resolve(this.current.token);
    this.pending ??= this.renew(now).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async renew(now: number): Promise<string> {
    const credentials = await this.options.credentials();
    const token = await presignEksToken({ clusterName: this.options.clusterName, region: this.options.region, credentials, signingDate: new Date(now) });
    const credentialsEndMs = credentials.expiration ? credentials.expiration.getTime() - CREDENTIAL_MARGIN_MS : Number.POSITIVE_INFINITY;
    this.current = { token, renewAtMs: Math.min(now + EKS_TOKEN_REUSE_MS, credentialsEndMs) };
    return token;
  }
}
