/**
 * The EKS token's real verification chain, locally: aws-iam-authenticator v0.6.13 (built by
 * scripts/k8s-binaries.sh --aws-iam-authenticator) as the kube-apiserver's token webhook, its STS
 * calls answered by moto through moto_sts_proxy.py (moto's proxy with the two STS behaviours its
 * header names), and an IAM role assumed in moto whose credentials sign the healer's token.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { AwsCredentialIdentity } from '@smithy/types';
import { REPO_ROOT } from './control-plane.js';
import { motoServerPath } from './moto.js';
import { freePort, spawnSupervised, waitUntilReady, type Supervised } from './process.js';

const execFileP = promisify(execFile);
const venvPython = () => join(dirname(motoServerPath()), 'python');

/** The directory holding aws-iam-authenticator, or undefined when it is not built. */
export function authenticatorDir(): string | undefined {
  try {
    return execFileSync('bash', [join(REPO_ROOT, 'scripts/k8s-binaries.sh'), '--aws-iam-authenticator', '--no-build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop();
  } catch {
    return undefined;
  }
}

export interface StsProxy {
  /** http://127.0.0.1:port, for HTTPS_PROXY */
  readonly url: string;
  /** moto's CA, which signs the certificate the proxy shows for every AWS host */
  readonly caFile: string;
  logTail(): string;
  stop(): Promise<void>;
}

/** Starts test/support/moto_sts_proxy.py with the venv's python. */
export async function startStsProxy(): Promise<StsProxy> {
  const python = venvPython();
  const motoDir = (await execFileP(python, ['-c', 'import moto, os; print(os.path.dirname(moto.__file__))'])).stdout.trim();
  const port = await freePort();
  const proc: Supervised = spawnSupervised(python, [join(REPO_ROOT, 'test/support/moto_sts_proxy.py'), '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  await waitUntilReady('moto_sts_proxy', proc, () => Promise.resolve(proc.logTail().includes('Serving HTTP Proxy')), 30_000);
  return { url: `http://127.0.0.1:${port}`, caFile: join(motoDir, 'moto_proxy', 'ca.crt'), logTail: () => proc.logTail(), stop: () => proc.stop() };
}

// botocore (beside moto in the venv) through the proxy: IAM CreateRole, then STS AssumeRole.
const ASSUME_ROLE = `
import boto3, json, sys
a = json.load(sys.stdin)
trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}
role = boto3.client('iam', region_name=a['region']).create_role(RoleName=a['roleName'], AssumeRolePolicyDocument=json.dumps(trust))['Role']
sts = boto3.client('sts', region_name=a['region'], endpoint_url='https://sts.%s.amazonaws.com' % a['region'])
c = sts.assume_role(RoleArn=role['Arn'], RoleSessionName=a['sessionName'])['Credentials']
print(json.dumps({'roleArn': role['Arn'], 'accessKeyId': c['AccessKeyId'], 'secretAccessKey': c['SecretAccessKey'], 'sessionToken': c['SessionToken']}))
`;

export interface AssumedRole {
  readonly roleArn: string;
  readonly credentials: Required<Pick<AwsCredentialIdentity, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>>;
}

/** Creates an IAM role in moto and assumes it (session `sessionName`): the ASIA… credentials a Lambda function's role gets. */
export function assumeRoleInMoto(proxy: StsProxy, o: { roleName: string; sessionName: string; region: string }): Promise<AssumedRole> {
  // moto takes any key for the set-up calls; the proxy and its CA are what matter.
  const env = { ...process.env, HTTPS_PROXY: proxy.url, AWS_CA_BUNDLE: proxy.caFile, AWS_ACCESS_KEY_ID: 'AKIAHEALERTESTADMIN1', AWS_SECRET_ACCESS_KEY: 'admin-secret' };
  return new Promise((resolve, reject) => {
    const child = execFile(venvPython(), ['-c', ASSUME_ROLE], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`AssumeRole in moto: ${stderr || error.message}`));
      const r = JSON.parse(stdout) as { roleArn: string; accessKeyId: string; secretAccessKey: string; sessionToken: string };
      resolve({ roleArn: r.roleArn, credentials: { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey, sessionToken: r.sessionToken } });
    });
    child.stdin?.end(JSON.stringify(o));
  });
}

/** The process env of anything of ours that calls STS: through the proxy, trusting moto's CA, no EC2 metadata. */
export function stsEnv(proxy: StsProxy): NodeJS.ProcessEnv {
  return { ...process.env, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1,localhost', SSL_CERT_FILE: proxy.caFile, AWS_EC2_METADATA_DISABLED: 'true' };
}

export interface AuthenticatorServer {
  logTail(): string;
  stop(): Promise<void>;
}

export interface Authenticator {
  /** For kube-apiserver --authentication-token-webhook-config-file (written by `init`). */
  readonly webhookKubeconfigPath: string;
  /**
   * Runs `aws-iam-authenticator server` with the EKSConfigMap backend: it maps IAM identities by
   * kube-system/aws-auth, read from the cluster with this admin kubeconfig. Ready once it has read
   * aws-auth, so apply that first.
   */
  serve(adminKubeconfigPath: string, proxy: StsProxy): Promise<AuthenticatorServer>;
}

/** Its certificate and the webhook kubeconfig (`init`), in `dir`, for a server on 127.0.0.1. */
export async function initAuthenticator(o: { binDir: string; clusterId: string; dir: string }): Promise<Authenticator> {
  const bin = join(o.binDir, 'aws-iam-authenticator');
  const port = await freePort();
  const stateDir = join(o.dir, 'state');
  const webhookKubeconfigPath = join(o.dir, 'webhook.kubeconfig');
  const configPath = join(o.dir, 'config.yaml');
  await mkdir(stateDir, { recursive: true });
  // One configuration for init and server: init writes the certificate and kubeconfig where the
  // server reads them (ConfiguredInitDirectories), for https://127.0.0.1:<port>/authenticate.
  await writeFile(configPath, [
    `clusterID: ${o.clusterId}`,
    'server:',
    '  hostname: 127.0.0.1',
    '  address: 127.0.0.1',
    `  port: ${port}`,
    `  stateDir: ${stateDir}`,
    `  generateKubeconfig: ${webhookKubeconfigPath}`,
    '  kubeconfigPregenerated: true',
    '  backendMode: [EKSConfigMap]',
    '',
  ].join('\n'));
  await execFileP(bin, ['init', '-c', configPath, '--hostname', '127.0.0.1', '--feature-gates', 'ConfiguredInitDirectories=true'], { cwd: o.dir, timeout: 30_000 });

  return {
    webhookKubeconfigPath,
    async serve(adminKubeconfigPath, proxy) {
      // The server also opens a health endpoint on :21363, every interface, which v0.6.13 cannot
      // move. Holding 127.0.0.1:21363 makes that bind fail (the server ignores the error), so
      // nothing listens beyond loopback; if something else holds the port, the bind fails anyway.
      const guard = await holdPort(21363);
      const proc = spawnSupervised(bin, ['server', '-c', configPath, '--kubeconfig', adminKubeconfigPath], { cwd: o.dir, env: stsEnv(proxy) });
      try {
        await waitUntilReady('aws-iam-authenticator server', proc, () => Promise.resolve(/listening on 127\.0\.0\.1:/.test(proc.logTail()) && proc.logTail().includes('Received aws-auth watch event')), 60_000);
      } catch (error) {
        await proc.stop();
        guard?.close();
        throw error;
      }
      return {
        logTail: () => proc.logTail(),
        async stop() {
          await proc.stop();
          guard?.close();
        },
      };
    },
  };
}

function holdPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
