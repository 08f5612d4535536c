/**
 * The healer's EKS token against the real verifier: aws-iam-authenticator v0.6.13 (built by
 * scripts/k8s-binaries.sh --aws-iam-authenticator), its own `verify` command, whose STS calls go
 * through moto's proxy mode (HTTPS_PROXY, moto's CA trusted through SSL_CERT_FILE).
 *
 * What moto cannot do, found here: the verifier asks STS with `Accept: application/json` and
 * parses JSON; moto 5.2.5 answers GetCallerIdentity in XML whatever the Accept header, so the
 * verifier stops at "invalid character '<'". Moto also checks no SigV4 signature. So the identity
 * mapping and the refusal of forged and wrong-cluster tokens (both STS's signature check) cannot
 * run locally; what runs is every check the verifier makes itself before STS, plus proof that an
 * accepted token's request reaches STS, signed with the cluster header the verifier sends, and,
 * with botocore as a second, independent SigV4 implementation, that the signature STS would check
 * is right for the verifier's cluster ID and wrong for a tampered token or another cluster's.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EKS_TOKEN_PREFIX, presignEksToken } from '../../lib/adapters/eks-token.js';
import { freePort, mustRun, spawnSupervised, waitUntilReady, type Supervised } from '../support/process.js';
import { motoServerPath, motoUnavailable } from '../support/moto.js';
import { REPO_ROOT } from '../support/control-plane.js';
import { botocoreSignature } from '../support/botocore-sigv4.js';

const execFileP = promisify(execFile);

function verifierDir(): string | undefined {
  try {
    return execFileSync('bash', [join(REPO_ROOT, 'scripts/k8s-binaries.sh'), '--aws-iam-authenticator', '--no-build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop();
  } catch {
    return undefined;
  }
}
const dir = verifierDir();
const missing = dir === undefined ? 'aws-iam-authenticator not built (bash scripts/k8s-binaries.sh --aws-iam-authenticator)' : motoUnavailable();
if (missing && mustRun()) throw new Error(missing);

const CREDENTIALS = { accessKeyId: 'ASIAHEALERTESTKEY001', secretAccessKey: 'healer-test-secret', sessionToken: 'healer-test-session' };
const MINUTE = 60_000;

// In CI a missing verifier is an error, never a skip (scripts/test.sh builds it).
if (missing !== undefined && process.env.CI === 'true') throw new Error(`CI=true and ${missing}`);

describe.skipIf(missing !== undefined)('the EKS token against aws-iam-authenticator v0.6.13 (STS through moto\'s proxy)', () => {
  let proxy: Supervised;
  let port = 0;
  const motoProxy = () => join(motoServerPath(), '..', 'moto_proxy');

  beforeAll(async () => {
    port = await freePort();
    proxy = spawnSupervised(motoProxy(), ['-H', '127.0.0.1', '-p', String(port)]);
    await waitUntilReady('moto_proxy', proxy, () => Promise.resolve(proxy.logTail().includes('Serving HTTP Proxy')), 30_000);
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
  });

  /** The verifier's verdict on a token for cluster `clusterId`: its output, whatever the exit code. */
  async function verify(token: string, clusterId: string): Promise<string> {
    const python = (await execFileP(join(motoServerPath(), '..', 'python'), ['-c', 'import moto, os; print(os.path.dirname(moto.__file__))'])).stdout.trim();
    const env = { ...process.env, HTTPS_PROXY: `http://127.0.0.1:${port}`, SSL_CERT_FILE: join(python, 'moto_proxy', 'ca.crt'), AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true' };
    try {
      const { stdout, stderr } = await execFileP(join(dir ?? '', 'aws-iam-authenticator'), ['verify', '-t', token, '-i', clusterId], { env, timeout: 30_000 });
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }
  const sign = (clusterName: string, ageMs = 0) => presignEksToken({ clusterName, region: 'eu-west-1', credentials: CREDENTIALS, signingDate: new Date(Date.now() - ageMs) });
  const STS_REACHED = /sts getCallerIdentity failed: invalid character '<' looking for beginning of value/;

  it('passes every check the verifier makes itself, and its request reaches STS (moto) with the cluster header signed', async () => {
    // Act
    const out = await verify(await sign('prod-eu'), 'prod-eu');

    // Assess: no format refusal; the only failure is parsing moto's XML answer (see the header)
    expect(out).toMatch(STS_REACHED);
    expect(out).not.toMatch(/expired|unexpected hostname|did not sign|non-whitelisted|missing expected/);
    expect(proxy.logTail()).toMatch(/GET.*https:\/\/sts\.eu-west-1\.amazonaws\.com\/\?Action=GetCallerIdentity.*X-Amz-SignedHeaders=host%3Bx-k8s-aws-id/);
  });

  it('a token signed 16 minutes ago is refused as expired, before STS', async () => {
    // Act
    const out = await verify(await sign('prod-eu', 16 * MINUTE), 'prod-eu');

    // Assess
    expect(out).toMatch(/X-Amz-Date parameter is expired \(15 minute expiration\)/);
  });

  it('a forged token for a host that is not STS is refused, before any request', async () => {
    // Prepare: our token's URL, pointed at another host
    const url = Buffer.from((await sign('prod-eu')).slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8').replace('sts.eu-west-1.amazonaws.com', 'sts.eu-west-1.amazonaws.com.evil.example');
    const forged = EKS_TOKEN_PREFIX + Buffer.from(url).toString('base64url');

    // Act
    const out = await verify(forged, 'prod-eu');

    // Assess
    expect(out).toMatch(/unexpected hostname "sts\.eu-west-1\.amazonaws\.com\.evil\.example"/);
  });

  it('a token that does not sign the cluster header is refused (it could be replayed to any cluster)', async () => {
    // Prepare
    const url = Buffer.from((await sign('prod-eu')).slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8').replace('X-Amz-SignedHeaders=host%3Bx-k8s-aws-id', 'X-Amz-SignedHeaders=host');
    const forged = EKS_TOKEN_PREFIX + Buffer.from(url).toString('base64url');

    // Act
    const out = await verify(forged, 'prod-eu');

    // Assess
    expect(out).toMatch(/client did not sign the x-k8s-aws-id header/);
  });

  it('signs what STS checks: botocore computes the same signature for this cluster, another for a tampered token or another cluster', async () => {
    // Prepare
    const urlOf = (token: string) => Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8');
    const signatureOf = (url: string) => new URL(url).searchParams.get('X-Amz-Signature') ?? '';
    const good = urlOf(await sign('prod-eu'));
    const sig = signatureOf(good);
    const tampered = good.replace(sig, (sig.startsWith('a') ? 'b' : 'a') + sig.slice(1));
    const otherCluster = urlOf(await sign('staging-eu'));

    // Act: the signature STS computes from each URL and the x-k8s-aws-id the prod-eu verifier sends
    const expected = await Promise.all([good, tampered, otherCluster].map((url) => botocoreSignature(url, 'prod-eu', CREDENTIALS.secretAccessKey)));

    // Assess: STS takes ours and refuses both others (SignatureDoesNotMatch); the other cluster's own verifier would take its token
    expect(expected[0]).toBe(sig);
    expect(expected[1]).not.toBe(signatureOf(tampered));
    expect(expected[2]).not.toBe(signatureOf(otherCluster));
    expect(await botocoreSignature(otherCluster, 'staging-eu', CREDENTIALS.secretAccessKey)).toBe(signatureOf(otherCluster));
  });
});

if (missing) console.warn(`[eks-verifier] skipped: ${missing}`);
