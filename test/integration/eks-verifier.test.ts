/**
 * The healer's EKS token against its real verifier: aws-iam-authenticator v0.6.13 (built by
 * scripts/k8s-binaries.sh --aws-iam-authenticator), as its `verify` command and as a real
 * kube-apiserver's token webhook (`server`, mapping by kube-system/aws-auth), its STS calls going
 * through moto's proxy (HTTPS_PROXY, moto's CA trusted through SSL_CERT_FILE). The token is signed
 * with credentials of an IAM role assumed in moto, through the healer's own wiring (kubeConfigFor
 * with the EKS settings, the AWS SDK's default credential chain).
 *
 * moto runs with test/support/moto_sts_proxy.py, which gives its STS three real behaviours moto
 * 5.2.5 lacks: a JSON answer to `Accept: application/json` (what the verifier asks and parses;
 * plain moto answers XML and the verifier stops at "invalid character '<'"), the caller of a
 * presigned URL read from its X-Amz-Credential (plain moto names every such caller `user/moto`),
 * and a check of a presigned URL's signature (plain moto checks none): botocore recomputes it
 * with the secret moto issued for the key, over the request as the verifier sent it, so a token
 * signed for another cluster or with a tampered signature is refused (SignatureDoesNotMatch) as
 * real STS refuses it. That check is botocore's SigV4, not AWS's own service; the last test below
 * also compares botocore's signature with the healer's directly. Every other refusal (expired,
 * not STS, cluster header unsigned, a role aws-auth does not map) is the verifier's own. Each
 * ends in 401 from the kube-apiserver.
 * aws-auth is the mapRoles of docs/operations.md as written; RBAC is infra/rbac.yaml, which the
 * control plane applies.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { EKS_TOKEN_PREFIX, presignEksToken } from '../../lib/adapters/eks-token.js';
import { KubernetesCluster, loadKubeConfig } from '../../lib/adapters/kubernetes.js';
import { loadConfig } from '../../lib/config/config.js';
import { systemClock } from '../../lib/ports/index.js';
import { kubeConfigFor } from '../../lib/wiring/kube.js';
import { mustRun } from '../support/process.js';
import { motoUnavailable } from '../support/moto.js';
import { applyManifest, findBinaries, REPO_ROOT, startControlPlane, waitFor, type ControlPlane } from '../support/control-plane.js';
import { botocoreSignature } from '../support/botocore-sigv4.js';
import { assumeRoleInMoto, authenticatorDir, initAuthenticator, startStsProxy, stsEnv, type AssumedRole, type AuthenticatorServer, type StsProxy } from '../support/eks-authenticator.js';
import { anIncident } from '../fixtures/builders.js';

const execFileP = promisify(execFile);

const dir = authenticatorDir();
const missing = dir === undefined ? 'aws-iam-authenticator not built (bash scripts/k8s-binaries.sh --aws-iam-authenticator)' : motoUnavailable();
// In CI a missing verifier is an error, never a skip (scripts/test.sh builds it).
if (missing && mustRun()) throw new Error(`CI=true and ${missing}`);
const binaries = findBinaries();
const noControlPlane = process.env.TEST_KUBECONFIG
  ? 'TEST_KUBECONFIG names an existing cluster; the token webhook needs a kube-apiserver started here'
  : binaries.ok ? undefined : binaries.reason;
if (noControlPlane && !process.env.TEST_KUBECONFIG && mustRun()) throw new Error(`CI=true and ${noControlPlane}`);

const REGION = 'eu-west-1';
const CLUSTER = 'prod-eu';
/** The remediate function's role and the session name Lambda gives it (the function's name). */
const ROLE = 'k8s-healer-dev-RemediateRole';
const SESSION = 'k8s-healer-dev-remediate';
const MINUTE = 60_000;

const urlOf = (token: string) => Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8');
const tokenOf = (url: string) => EKS_TOKEN_PREFIX + Buffer.from(url).toString('base64url');

describe.skipIf(missing !== undefined)('the EKS token against aws-iam-authenticator v0.6.13 (STS: moto, through its proxy)', () => {
  let proxy: StsProxy;
  let role: AssumedRole;

  beforeAll(async () => {
    proxy = await startStsProxy();
    role = await assumeRoleInMoto(proxy, { roleName: ROLE, sessionName: SESSION, region: REGION });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
  });

  const sign = (clusterName: string, ageMs = 0) => presignEksToken({ clusterName, region: REGION, credentials: role.credentials, signingDate: new Date(Date.now() - ageMs) });
  /** Tokens the verifier must refuse before it asks STS, built from a good one. */
  const forged = {
    notSts: async () => tokenOf(urlOf(await sign(CLUSTER)).replace('sts.eu-west-1.amazonaws.com', 'sts.eu-west-1.amazonaws.com.evil.example')),
    clusterHeaderUnsigned: async () => tokenOf(urlOf(await sign(CLUSTER)).replace('X-Amz-SignedHeaders=host%3Bx-k8s-aws-id', 'X-Amz-SignedHeaders=host')),
  };
  const REFUSED = {
    expired: /X-Amz-Date parameter is expired \(15 minute expiration\)/,
    notSts: /unexpected hostname \\?"sts\.eu-west-1\.amazonaws\.com\.evil\.example\\?"/,
    clusterHeaderUnsigned: /client did not sign the x-k8s-aws-id header/,
    badSignature: /sts getCallerIdentity failed.*(SignatureDoesNotMatch|403)/,
  };

  describe('its verify command', () => {
    /** The verifier's verdict on a token for cluster `clusterId`: stdout (a warning, then the identity's JSON), all its output, whatever the exit code. */
    async function verify(token: string, clusterId: string): Promise<{ stdout: string; out: string }> {
      try {
        const { stdout, stderr } = await execFileP(join(dir ?? '', 'aws-iam-authenticator'), ['verify', '-t', token, '-i', clusterId, '-o', 'json'], { env: stsEnv(proxy), timeout: 30_000 });
        return { stdout, out: stdout + stderr };
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        return { stdout: e.stdout ?? '', out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    }

    it('passes every check the verifier makes itself, asks STS with the cluster header signed, and names the assumed role', async () => {
      // Act
      const { stdout, out } = await verify(await sign(CLUSTER), CLUSTER);

      // Assess: no format refusal; STS's JSON answer is the role's session, as EKS would map it
      expect(out).not.toMatch(/expired|unexpected hostname|did not sign|non-whitelisted|missing expected|sts getCallerIdentity failed/);
      expect(JSON.parse(stdout.slice(stdout.indexOf('{')))).toEqual(expect.objectContaining({
        ARN: `arn:aws:sts::123456789012:assumed-role/${ROLE}/${SESSION}`,
        CanonicalARN: role.roleArn,
        AccountID: '123456789012',
        SessionName: SESSION,
        AccessKeyID: role.credentials.accessKeyId,
      }));
      expect(proxy.logTail()).toMatch(/GET.*https:\/\/sts\.eu-west-1\.amazonaws\.com\/\?Action=GetCallerIdentity.*X-Amz-SignedHeaders=host%3Bx-k8s-aws-id/);
    });

    it('a token signed 16 minutes ago is refused as expired, before STS', async () => {
      // Act
      const { out } = await verify(await sign(CLUSTER, 16 * MINUTE), CLUSTER);

      // Assess
      expect(out).toMatch(REFUSED.expired);
    });

    it('a forged token for a host that is not STS is refused, before any request', async () => {
      // Act
      const { out } = await verify(await forged.notSts(), CLUSTER);

      // Assess
      expect(out).toMatch(REFUSED.notSts);
    });

    it('a token that does not sign the cluster header is refused (it could be replayed to any cluster)', async () => {
      // Act
      const { out } = await verify(await forged.clusterHeaderUnsigned(), CLUSTER);

      // Assess
      expect(out).toMatch(REFUSED.clusterHeaderUnsigned);
    });

    it('a token signed for another cluster is refused by STS (SignatureDoesNotMatch), and taken by that cluster\'s verifier', async () => {
      // Prepare
      const token = await sign('staging-eu');

      // Act
      const here = await verify(token, CLUSTER);
      const there = await verify(token, 'staging-eu');

      // Assess
      expect(here.out).toMatch(REFUSED.badSignature);
      expect(there.out).not.toMatch(/sts getCallerIdentity failed/);
      expect(JSON.parse(there.stdout.slice(there.stdout.indexOf('{')))).toEqual(expect.objectContaining({ SessionName: SESSION }));
    });

    it('a token signed with an access key STS never issued is refused by STS (InvalidClientTokenId)', async () => {
      // Prepare
      const credentials = { accessKeyId: 'ASIAZZZZZZZZZZZZZZZZ', secretAccessKey: 'not-a-secret-moto-issued', sessionToken: 'not-a-session-moto-issued' };

      // Act
      const { out } = await verify(await presignEksToken({ clusterName: CLUSTER, region: REGION, credentials, signingDate: new Date() }), CLUSTER);

      // Assess
      expect(out).toMatch(/sts getCallerIdentity failed.*(InvalidClientTokenId|403)/);
    });
  });

  describe.skipIf(noControlPlane !== undefined)('as the kube-apiserver\'s token webhook, mapping by the aws-auth of docs/operations.md', () => {
    let workDir: string;
    let cp: ControlPlane | undefined;
    let server: AuthenticatorServer | undefined;
    let scan: AssumedRole;
    let unmapped: AssumedRole;
    const savedEnv: Record<string, string | undefined> = {};

    beforeAll(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'k8s-healer-eks-auth-'));
      const authenticator = await initAuthenticator({ binDir: dir ?? '', clusterId: CLUSTER, dir: workDir });
      cp = await startControlPlane({ register: false, tokenWebhookConfigFile: authenticator.webhookKubeconfigPath });
      scan = await assumeRoleInMoto(proxy, { roleName: 'k8s-healer-dev-ScanRole', sessionName: 'k8s-healer-dev-scan', region: REGION });
      unmapped = await assumeRoleInMoto(proxy, { roleName: 'some-other-function-role', sessionName: 'some-other-function', region: REGION });
      await applyManifest(cp.adminKubeconfigPath, {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' },
        data: { mapRoles: documentedMapRoles({ remediate: role.roleArn, scan: scan.roleArn }) },
      });
      server = await authenticator.serve(cp.adminKubeconfigPath, proxy);
      // The function's credentials, as Lambda hands them to the default credential chain.
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) savedEnv[key] = process.env[key];
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: role.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: role.credentials.secretAccessKey, AWS_SESSION_TOKEN: role.credentials.sessionToken });
    }, 240_000);
    afterAll(async () => {
      for (const [key, value] of Object.entries(savedEnv)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await server?.stop();
      await cp?.stop();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    /** The worker's KubeConfig, built as in a deployed function with HEALER_EKS_* set. */
    function healerKubeConfig(): Promise<KubeConfig> {
      const config = loadConfig({
        HEALER_STATE_TABLE: 'state', HEALER_AUDIT_TABLE: 'audit', AWS_REGION: REGION, HEALER_CLUSTER_NAME: CLUSTER,
        HEALER_EKS_CLUSTER_NAME: CLUSTER, HEALER_EKS_ENDPOINT: cp?.server, HEALER_EKS_CA_DATA: Buffer.from(cp?.caCertPem ?? '').toString('base64'),
      });
      return kubeConfigFor(config);
    }
    /** The healer's client sending this one token. */
    const withToken = (token: string) => loadKubeConfig({
      eks: { clusterName: CLUSTER, endpoint: cp?.server ?? '', caData: Buffer.from(cp?.caCertPem ?? '').toString('base64'), tokens: { token: () => Promise.resolve(token) } },
    });
    const whoAmI = (kc: KubeConfig) => kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    const statusOf = (request: Promise<unknown>) => request.then(() => 200, (e: unknown) => (e as { code?: number }).code);
    /** The apiserver's RBAC verdict for this identity (namespace default; '' for cluster-wide). */
    const can = async (kc: KubeConfig, verb: string, group: string, resource: string, namespace = 'default') => (await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace, verb, group, resource } } },
    })).status?.allowed;

    it('accepts the healer\'s token and maps the role to the documented user and group', async () => {
      // Act
      const review = await whoAmI(await healerKubeConfig());

      // Assess
      expect(review.status?.userInfo).toEqual(expect.objectContaining({
        username: `k8s-healer-remediate:${SESSION}`,
        groups: expect.arrayContaining(['k8s-healer:remediate', 'system:authenticated']) as string[],
      }));
      expect(review.status?.userInfo?.extra?.arn).toEqual([`arn:aws:sts::123456789012:assumed-role/${ROLE}/${SESSION}`]);
      await waitFor(() => /access granted.*k8s-healer:remediate/.test(server?.logTail() ?? ''), { what: 'the authenticator to log the grant', timeoutMs: 5_000, intervalMs: 50 });
    });

    it('gives that identity the grants of infra/rbac.yaml: a remediation verb allowed, others denied, reads work', async () => {
      // Prepare
      const kc = await healerKubeConfig();

      // Act
      const verdicts = { patchDeployments: await can(kc, 'patch', 'apps', 'deployments'), deleteDeployments: await can(kc, 'delete', 'apps', 'deployments'), getSecrets: await can(kc, 'get', '', 'secrets') };
      const evidence = await new KubernetesCluster(kc, { logTailLines: 10, logLimitBytes: 1024, eventsLimit: 5 }, systemClock)
        .gatherEvidence(anIncident({ subject: { kind: 'Pod', namespace: 'default', name: 'no-such-pod' } }));
      const listSecrets = await statusOf(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'default' }));

      // Assess: the pod reads as absent (404), not as a refused identity
      expect(verdicts).toEqual({ patchDeployments: true, deleteDeployments: false, getSecrets: false });
      expect(evidence.exists).toBe(false);
      expect(listSecrets).toBe(403);
    });

    it('maps the scan function\'s role to the read-only scan group', async () => {
      // Prepare
      const kc = withToken(await presignEksToken({ clusterName: CLUSTER, region: REGION, credentials: scan.credentials, signingDate: new Date() }));

      // Act
      const review = await whoAmI(kc);
      const verdicts = { listPodsEverywhere: await can(kc, 'list', '', 'pods', ''), patchDeployments: await can(kc, 'patch', 'apps', 'deployments') };

      // Assess
      expect(review.status?.userInfo?.username).toBe('k8s-healer-scan:k8s-healer-dev-scan');
      expect(review.status?.userInfo?.groups).toContain('k8s-healer:scan');
      expect(review.status?.userInfo?.groups).not.toContain('k8s-healer:remediate');
      expect(verdicts).toEqual({ listPodsEverywhere: true, patchDeployments: false });
    });

    it.each([
      ['signed 16 minutes ago', () => sign(CLUSTER, 16 * MINUTE), REFUSED.expired],
      ['for a host that is not STS', forged.notSts, REFUSED.notSts],
      ['that does not sign the cluster header', forged.clusterHeaderUnsigned, REFUSED.clusterHeaderUnsigned],
      ['of a role aws-auth does not map', () => presignEksToken({ clusterName: CLUSTER, region: REGION, credentials: unmapped.credentials, signingDate: new Date() }), /access denied.*ARN is not mapped/],
    ])('refuses a token %s (401), for the verifier\'s reason', async (_, make, reason) => {
      // Act
      const status = await statusOf(whoAmI(withToken(await make())));

      // Assess: the log line may reach us just after the apiserver's answer
      expect(status).toBe(401);
      await waitFor(() => reason.test(server?.logTail() ?? ''), { what: `the authenticator to log ${String(reason)}`, timeoutMs: 5_000, intervalMs: 50 });
    });

    it.each([
      ['signed for another cluster', () => sign('staging-eu')],
      ['with a tampered signature', async () => {
        const url = urlOf(await sign(CLUSTER));
        const sig = new URL(url).searchParams.get('X-Amz-Signature') ?? '';
        return tokenOf(url.replace(sig, (sig.startsWith('a') ? 'b' : 'a') + sig.slice(1)));
      }],
    ])('refuses a token %s (401): STS answers SignatureDoesNotMatch', async (_, make) => {
      // Act: the verifier sends x-k8s-aws-id: prod-eu with the token's own query
      const status = await statusOf(whoAmI(withToken(await make())));

      // Assess
      expect(status).toBe(401);
      await waitFor(() => REFUSED.badSignature.test(server?.logTail() ?? ''), { what: 'the authenticator to log STS\'s refusal', timeoutMs: 5_000, intervalMs: 50 });
    });
  });

  it('signs what STS checks: botocore computes the same signature for this cluster, another for a tampered token or another cluster', async () => {
    // Prepare
    const signatureOf = (url: string) => new URL(url).searchParams.get('X-Amz-Signature') ?? '';
    const good = urlOf(await sign(CLUSTER));
    const sig = signatureOf(good);
    const tampered = good.replace(sig, (sig.startsWith('a') ? 'b' : 'a') + sig.slice(1));
    const otherCluster = urlOf(await sign('staging-eu'));
    const secret = role.credentials.secretAccessKey;

    // Act: the signature STS computes from each URL and the x-k8s-aws-id the prod-eu verifier sends
    const expected = await Promise.all([good, tampered, otherCluster].map((url) => botocoreSignature(url, CLUSTER, secret)));

    // Assess: STS takes ours and refuses both others (SignatureDoesNotMatch); the other cluster's own verifier would take its token
    expect(expected[0]).toBe(sig);
    expect(expected[1]).not.toBe(signatureOf(tampered));
    expect(expected[2]).not.toBe(signatureOf(otherCluster));
    expect(await botocoreSignature(otherCluster, 'staging-eu', secret)).toBe(signatureOf(otherCluster));
  });
});

/**
 * The aws-auth mapRoles that docs/operations.md tells an operator to add, as written there, with
 * the roles' ARNs for its placeholders (the approve role's is one nothing signs with).
 */
function documentedMapRoles(arns: { remediate: string; scan: string }): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
  const block = /add under `mapRoles`:\n\s*```yaml\n([\s\S]*?)\n\s*```/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/operations.md has no aws-auth mapRoles block');
  const lines = block.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  const yaml = lines.map((l) => l.slice(indent)).join('\n')
    .replace('<RemediateRoleArn>', arns.remediate)
    .replace('<ApproveRoleArn>', 'arn:aws:iam::123456789012:role/k8s-healer-dev-ApproveRole')
    .replace('<ScanRoleArn>', arns.scan);
  if (yaml.includes('<')) throw new Error(`a placeholder of docs/operations.md's mapRoles is not filled: ${yaml}`);
  return yaml;
}

if (missing) console.warn(`[eks-verifier] skipped: ${missing}`);
else if (noControlPlane) console.warn(`[eks-verifier] token webhook tests skipped: ${noControlPlane}`);
