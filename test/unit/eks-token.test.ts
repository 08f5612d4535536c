import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AwsCredentialIdentity } from '@smithy/types';
import { EKS_TOKEN_PREFIX, EksTokenSource, presignEksToken } from '../../lib/adapters/eks-token.js';
import { loadConfig } from '../../lib/config/config.js';

/** The EKS token as aws-iam-authenticator reads it: prefix, base64url, a presigned STS GetCallerIdentity URL. */
const CREDENTIALS: AwsCredentialIdentity = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+with=odd chars' };
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const MINUTE = 60_000;

function decode(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const body = token.slice(EKS_TOKEN_PREFIX.length);
  expect(body).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(body, 'base64url').toString('utf8'));
}

/** SigV4 for a presigned GET, written here from the AWS specification, independent of the signer under test. */
function expectedSignature(url: URL, clusterName: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const canonical = ['GET', '/', query, `host:${url.hostname}\nx-k8s-aws-id:${clusterName}\n`, 'host;x-k8s-aws-id', createHash('sha256').update('').digest('hex')].join('\n');
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = (url.searchParams.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const [day, region, service] = scope.split('/');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(day ?? '').digest();
  for (const part of [region ?? '', service ?? '', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex');
}

function countingCredentials(expiration?: Date) {
  const calls = { count: 0 };
  const provider = () => {
    calls.count += 1;
    return Promise.resolve({ ...CREDENTIALS, accessKeyId: `AKIDEXAMPLE${calls.count}`, ...(expiration ? { expiration } : {}) });
  };
  return { calls, provider };
}

describe('the EKS token', () => {
  it('is k8s-aws-v1. + base64url of a presigned regional STS GetCallerIdentity URL that signs the cluster id header', async () => {
    // Act
    const token = await presignEksToken({ clusterName: 'prod-eu', region: 'eu-west-1', credentials: CREDENTIALS, signingDate: new Date(T0) });

    // Assess
    const url = decode(token);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = Object.fromEntries(url.searchParams.entries());
    expect(q).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20260501/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20260501T120000Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': CREDENTIALS.sessionToken,
    });
    expect(q['X-Amz-Signature']).toBe(expectedSignature(url, 'prod-eu', CREDENTIALS.secretAccessKey));
  });

  it('is bound to its cluster: another cluster name gives another signature', async () => {
    // Prepare
    const sign = (clusterName: string) => presignEksToken({ clusterName, region: 'us-east-1', credentials: CREDENTIALS, signingDate: new Date(T0) });

    // Act
    const [a, b] = await Promise.all([sign('prod-eu'), sign('prod-us')]);

    // Assess
    const sig = (t: string) => decode(t).searchParams.get('X-Amz-Signature');
    expect(sig(a)).not.toBe(sig(b));
    expect(sig(b)).toBe(expectedSignature(decode(b), 'prod-us', CREDENTIALS.secretAccessKey));
  });
});

describe('the token source', () => {
  it('reuses a token for 14 minutes and signs a new one after', async () => {
    // Prepare
    let now = T0;
    const { calls, provider } = countingCredentials();
    const source = new EksTokenSource({ clusterName: 'prod-eu', region: 'eu-west-1', credentials: provider, clock: { now: () => now } });

    // Act
    const first = await source.token();
    now = T0 + 14 * MINUTE - 1;
    const stillFirst = await source.token();
    now = T0 + 14 * MINUTE;
    const second = await source.token();

    // Assess
    expect(stillFirst).toBe(first);
    expect(second).not.toBe(first);
    expect(decode(second).searchParams.get('X-Amz-Date')).toBe('20260501T121400Z');
    expect(calls.count).toBe(2);
  });

  it('signs again before the credentials it signed with expire', async () => {
    // Prepare: credentials valid for 5 more minutes
    let now = T0;
    const { calls, provider } = countingCredentials(new Date(T0 + 5 * MINUTE));
    const source = new EksTokenSource({ clusterName: 'prod-eu', region: 'eu-west-1', credentials: provider, clock: { now: () => now } });

    // Act
    const first = await source.token();
    now = T0 + 3 * MINUTE;
    const same = await source.token();
    now = T0 + 4 * MINUTE;
    const renewed = await source.token();

    // Assess
    expect(same).toBe(first);
    expect(renewed).not.toBe(first);
    expect(calls.count).toBe(2);
  });

  it('shares one signing among concurrent callers', async () => {
    // Prepare
    const { calls, provider } = countingCredentials();
    const source = new EksTokenSource({ clusterName: 'prod-eu', region: 'eu-west-1', credentials: provider, clock: { now: () => T0 } });

    // Act
    const tokens = await Promise.all([source.token(), source.token(), source.token()]);

    // Assess
    expect(new Set(tokens).size).toBe(1);
    expect(calls.count).toBe(1);
  });

  it('passes a credentials failure on and tries again on the next call', async () => {
    // Prepare
    let fail = true;
    const source = new EksTokenSource({
      clusterName: 'prod-eu',
      region: 'eu-west-1',
      credentials: () => (fail ? Promise.reject(new Error('no credentials')) : Promise.resolve(CREDENTIALS)),
      clock: { now: () => T0 },
    });

    // Act + Assess
    await expect(source.token()).rejects.toThrow('no credentials');
    fail = false;
    expect(decode(await source.token()).searchParams.get('Action')).toBe('GetCallerIdentity');
  });
});

describe('the EKS settings', () => {
  const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  const ALL = { HEALER_EKS_CLUSTER_NAME: 'prod-eu', HEALER_EKS_ENDPOINT: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', HEALER_EKS_CA_DATA: CA, AWS_REGION: 'eu-west-1' };

  it('are off unless a cluster name is set, and on with all of them (the region from AWS_REGION)', () => {
    expect(loadConfig({}).eks).toBeUndefined();
    expect(loadConfig(ALL).eks).toEqual({ clusterName: 'prod-eu', endpoint: ALL.HEALER_EKS_ENDPOINT, caData: CA, region: 'eu-west-1' });
    expect(loadConfig({ ...ALL, HEALER_EKS_REGION: 'eu-central-1' }).eks?.region).toBe('eu-central-1');
  });

  it('may leave the endpoint and CA out together, to have them asked of EKS on first use', () => {
    expect(loadConfig({ HEALER_EKS_CLUSTER_NAME: 'prod-eu', AWS_REGION: 'eu-west-1' }).eks).toEqual({ clusterName: 'prod-eu', region: 'eu-west-1' });
  });

  it('name every missing or malformed one', () => {
    expect(() => loadConfig({ HEALER_EKS_CLUSTER_NAME: 'prod-eu' })).toThrow(/HEALER_EKS_REGION: required/);
    expect(() => loadConfig({ ...ALL, HEALER_EKS_CA_DATA: undefined })).toThrow(/HEALER_EKS_CA_DATA: required with HEALER_EKS_ENDPOINT/);
    expect(() => loadConfig({ ...ALL, HEALER_EKS_ENDPOINT: undefined })).toThrow(/HEALER_EKS_ENDPOINT: required with HEALER_EKS_CA_DATA/);
    expect(() => loadConfig({ ...ALL, HEALER_EKS_ENDPOINT: 'http://plain.example' })).toThrow(/HEALER_EKS_ENDPOINT: expected https/);
    expect(() => loadConfig({ ...ALL, HEALER_EKS_CA_DATA: 'bm90IGEgY2VydA==' })).toThrow(/HEALER_EKS_CA_DATA: expected the base64 of a PEM/);
    expect(() => loadConfig({ HEALER_EKS_ENDPOINT: ALL.HEALER_EKS_ENDPOINT })).toThrow(/HEALER_EKS_CLUSTER_NAME: required/);
  });
});
