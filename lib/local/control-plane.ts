// A real local Kubernetes control plane for tests and `npm run cluster`: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (the kubelet of fake nodes), or an existing
// cluster named by TEST_KUBECONFIG. See lib/local/kwok/stages.yaml for how pods behave.
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';

const execFileP = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KWOK_DIR = path.join(REPO_ROOT, 'lib/local/kwok');
const BINARIES_SCRIPT = path.join(REPO_ROOT, 'scripts/k8s-binaries.sh');
const REQUIRED_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

/** Env var naming the cluster.json of a running control plane; set by startControlPlane so
 * vitest workers started after globalSetup find the shared cluster. */
export const CLUSTER_INFO_ENV = 'K8S_HEALER_CLUSTER_INFO';
export const HEALER_NAMESPACE = 'k8s-healer';
export const HEALER_SERVICE_ACCOUNT = 'k8s-healer';
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Pod label that the kwok stages turn into a kubelet-style crash loop. */
export const BEHAVIOUR_LABEL = 'healer-test/behaviour';
export const FIELD_MANAGER = 'k8s-healer-test';

export interface ClusterInfo {
  adminKubeconfigPath: string;
  /** https URL of the kube-apiserver */
  server: string;
  /** CA that signs the apiserver's serving certificate */
  caCertPem: string;
  healerKubeconfigPath: string;
  healerToken: string;
  workDir: string;
  /** Present when we run kwok ourselves; absent for TEST_KUBECONFIG clusters. */
  kwok?: { nodeNames: string[]; logsDir: string };
  /** JSON copy of this object, for other processes (see CLUSTER_INFO_ENV). */
  infoPath: string;
}

export interface ControlPlane extends ClusterInfo {
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Number of kwok fake nodes (default 1). */
  nodes?: number;
  /** Directory with the binaries; default: `scripts/k8s-binaries.sh --no-build`. */
  binDir?: string;
  /** Per-component readiness timeout (default 90 s; a cold 2-core machine is slow). */
  readyTimeoutMs?: number;
  /** Leave the temp dir in place after stop() (for debugging). */
  keepWorkDir?: boolean;
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
  /** false: a second control plane (two-cluster tests) that does not replace the shared one
   * (currentCluster, K8S_HEALER_CLUSTER_INFO). Default true. */
  register?: boolean;
  /** kube-apiserver --authentication-token-webhook-config-file: bearer tokens the apiserver does
   * not know itself are reviewed by this webhook (in tests, aws-iam-authenticator: the EKS token's
   * real verifier). Only for a control plane started here, not with TEST_KUBECONFIG. */
  tokenWebhookConfigFile?: string;
}

// ---------------------------------------------------------------------------------------------
// Binaries

export type BinaryLookup = { ok: true; dir: string } | { ok: false; reason: string };

function checkBinDir(dir: string): BinaryLookup {
  const missing = REQUIRED_BINARIES.filter((b) => !isExecutable(path.join(dir, b)));
  if (missing.length > 0) {
    return { ok: false, reason: `missing ${missing.join(', ')} in ${dir}; run: bash scripts/k8s-binaries.sh` };
  }
  return { ok: true, dir };
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds the binaries without building anything. */
export function findBinaries(): BinaryLookup {
  const r = spawnSync('bash', [BINARIES_SCRIPT, '--no-build'], { encoding: 'utf8' });
  const lines = (r.stdout ?? '').trim().split('\n').filter(Boolean);
  const dir = lines.at(-1);
  if (r.status !== 0 || !dir) {
    const why = ((r.stderr ?? '').trim().split('\n').at(-1) ?? `exit ${r.status}`)
      .replace(/^\[k8s-binaries [\d:]+\] /, '')
      .replace(/ \(run: .*\)$/, '');
    return { ok: false, reason: `Kubernetes binaries not available (${why}); run: bash scripts/k8s-binaries.sh` };
  }
  return checkBinDir(dir);
}

/** Finds the binaries, building them with scripts/k8s-binaries.sh when missing (progress on stderr). */
export async function ensureBinaries(): Promise<string> {
  const found = findBinaries();
  if (found.ok) return found.dir;
  const child = spawn('bash', [BINARIES_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`bash scripts/k8s-binaries.sh failed with exit code ${code}`);
  const dir = out.trim().split('\n').at(-1) ?? '';
  const checked = checkBinDir(dir);
  if (!checked.ok) throw new Error(checked.reason);
  return checked.dir;
}

/** For tests: true when a control plane can be had. In CI a missing one is an error, never a skip. */
export function controlPlaneAvailable(): boolean {
  if (process.env.TEST_KUBECONFIG || process.env[CLUSTER_INFO_ENV]) return true;
  const found = findBinaries();
  if (found.ok) return true;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and no control plane: ${found.reason} (or set TEST_KUBECONFIG)`);
  }
  console.warn(`[control-plane] skipping: ${found.reason} (or set TEST_KUBECONFIG)`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Used in the timeout message: "timed out after 30000 ms waiting for <what>". */
  what: string;
}

/** Polls fn until it returns a truthy value (returned) or the time is up (throws, with the last
 * value or error seen). Errors thrown by fn are retried. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 250, what }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError !== undefined ? `last error: ${describeError(lastError)}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await sleep(intervalMs);
  }
}

function describeError(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && 'body' in err) {
    const body = (err as { body: unknown }).body;
    return `HTTP ${String((err as { code: unknown }).code)}: ${typeof body === 'string' ? body : JSON.stringify(body)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function freePorts(n: number): Promise<number[]> {
  // Hold every listener until all are allocated so the n ports are distinct.
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
}

function httpGet(url: string, tls: TlsOptions = {}, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts: https.RequestOptions = { method: 'GET', timeout: timeoutMs };
    if (u.protocol === 'https:') {
      Object.assign(opts, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure });
    }
    const req = (u.protocol === 'https:' ? https : http).request(u, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function tailOf(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch (err) {
    return `(no log: ${describeError(err)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: every child in its own process group, its output in a log file, its PID in a file a
// watchdog reads if this process dies without cleaning up.

interface Managed {
  name: string;
  pid: number;
  logPath: string;
  child: ChildProcess;
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: string } | undefined;
  exited: Promise<void>;
}

const liveGroups = new Set<ProcessGroup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' allows only synchronous work: SIGKILL what is left, remove the dirs.
  process.on('exit', () => {
    for (const g of liveGroups) g.killNow();
  });
}

class ProcessGroup {
  readonly procs: Managed[] = [];
  private readonly pidFile: string;
  private watchdog: ChildProcess | undefined;

  constructor(
    private readonly workDir: string,
    private readonly removeDirOnExit: boolean,
  ) {
    this.pidFile = path.join(workDir, 'pids');
    fs.writeFileSync(this.pidFile, '');
    installExitHook();
    liveGroups.add(this);
    this.startWatchdog();
  }

  // Covers a parent killed by SIGKILL or a signal without handlers, where 'exit' never runs.
  private startWatchdog(): void {
    const script = [
      'parent=$1; dir=$2; pids=$3; rmdir=$4',
      'while kill -0 "$parent" 2>/dev/null && [ -f "$pids" ]; do sleep 1; done',
      '[ -f "$pids" ] || exit 0',
      'p=$(cat "$pids")',
      '[ -n "$p" ] && kill -TERM $p 2>/dev/null',
      'i=0; while [ $i -lt 10 ]; do alive=; for x in $p; do kill -0 $x 2>/dev/null && alive=1; done; [ -z "$alive" ] && break; sleep 1; i=$((i+1)); done',
      '[ -n "$p" ] && kill -KILL $p 2>/dev/null',
      '[ "$rmdir" = 1 ] && rm -rf "$dir"',
      'exit 0',
    ].join('\n');
    const w = spawn('sh', ['-c', script, 'watchdog', String(process.pid), this.workDir, this.pidFile, this.removeDirOnExit ? '1' : '0'], {
      detached: true,
      stdio: 'ignore',
    });
    w.unref();
    this.watchdog = w;
  }

  start(name: string, bin: string, args: string[]): Managed {
    const logPath = path.join(this.workDir, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const fd = fs.openSync(logPath, 'a');
    fs.writeSync(fd, `$ ${bin} ${args.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true, cwd: this.workDir });
    } finally {
      fs.closeSync(fd);
    }
    const m: Managed = { name, pid: child.pid ?? -1, logPath, child, exit: undefined, exited: Promise.resolve() };
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        m.exit ??= { code, signal };
        resolve();
      });
      child.once('error', (err) => {
        m.exit ??= { code: null, signal: null, error: err.message };
        resolve();
      });
    });
    this.procs.push(m);
    if (m.pid > 0) fs.appendFileSync(this.pidFile, `${m.pid}\n`);
    return m;
  }

  /** Polls check() until true; fails early (with the log tail) if the process exits. */
  async waitReady(m: Managed, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      if (m.exit) {
        const how = m.exit.error ?? (m.exit.signal ? `signal ${m.exit.signal}` : `exit code ${m.exit.code}`);
        throw new Error(`${m.name} exited early (${how}); last lines of ${m.logPath}:\n${tailOf(m.logPath)}`);
      }
      try {
        if (await check()) return;
      } catch (err) {
        lastError = describeError(err);
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `${m.name} not ready after ${timeoutMs} ms (${lastError || 'check kept failing'}); last lines of ${m.logPath}:\n${tailOf(m.logPath)}`,
        );
      }
      await sleep(200);
    }
  }

  async stopAll(graceMs = 10_000): Promise<void> {
    // Reverse start order: kwok and controllers first, etcd last.
    const order = [...this.procs].reverse();
    const stopOne = async (m: Managed) => {
      if (m.exit || m.pid <= 0) return;
      signal(m.pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs));
      if ((await Promise.race([m.exited.then(() => 'exited' as const), timer])) === 'timeout') {
        signal(m.pid, 'SIGKILL');
        await m.exited;
      }
    };
    const late = new Set(['kube-apiserver', 'etcd']);
    await Promise.all(order.filter((m) => !late.has(m.name)).map(stopOne));
    for (const m of order.filter((m) => late.has(m.name))) await stopOne(m);
    liveGroups.delete(this);
    fs.rmSync(this.pidFile, { force: true });
    // End the watchdog while we are its parent, so it is reaped rather than left a zombie.
    const w = this.watchdog;
    if (w && w.exitCode === null && w.signalCode === null) {
      const gone = new Promise<void>((r) => w.once('exit', () => r()));
      w.kill('SIGTERM');
      await Promise.race([gone, sleep(2000)]);
    }
  }

  killNow(): void {
    for (const m of this.procs) if (!m.exit && m.pid > 0) signal(m.pid, 'SIGKILL');
    fs.rmSync(this.pidFile, { force: true });
    if (this.removeDirOnExit) {
      try {
        fs.rmSync(this.workDir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // best effort while exiting
      }
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl CLI) and kubeconfigs

interface Pki {
  caCrt: string;
  caKey: string;
  adminCrt: string;
  adminKey: string;
  kwokCrt: string;
  kwokKey: string;
  saKey: string;
  saPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

// P-256 keys: RSA key generation costs seconds on a small machine.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

async function makePki(dir: string): Promise<Pki> {
  await fsp.mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  await openssl(
    ['req', '-x509', ...EC_KEY, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650',
      '-subj', '/CN=k8s-healer-local-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    dir,
  );
  const leaf = async (name: string, subj: string, ext: string) => {
    await fsp.writeFile(p(`${name}.ext`), ext);
    await openssl(['req', '-new', ...EC_KEY, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
        '-days', '825', '-extfile', `${name}.ext`],
      dir,
    );
  };
  await Promise.all([
    // The admin identity of tests, controllers and kwok: group system:masters.
    leaf('admin', '/O=system:masters/CN=kubernetes-admin',
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'),
    // kwok's kubelet server; the apiserver verifies it (--kubelet-certificate-authority).
    leaf('kwok', '/CN=kwok-kubelet',
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'),
    (async () => {
      // ES256 service-account tokens; both the apiserver and the controller-manager accept EC keys.
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'], dir);
      await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    })(),
  ]);
  return {
    caCrt: p('ca.crt'), caKey: p('ca.key'), adminCrt: p('admin.crt'), adminKey: p('admin.key'),
    kwokCrt: p('kwok.crt'), kwokKey: p('kwok.key'), saKey: p('sa.key'), saPub: p('sa.pub'),
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfigYaml(server: string, caPem: string | undefined, user: { certPem: string; keyPem: string } | { token: string }, insecure = false): string {
  const userLines = 'token' in user
    ? [`    token: ${user.token}`]
    : [`    client-certificate-data: ${b64(user.certPem)}`, `    client-key-data: ${b64(user.keyPem)}`];
  const clusterLines = [`    server: ${server}`];
  if (caPem) clusterLines.push(`    certificate-authority-data: ${b64(caPem)}`);
  if (insecure) clusterLines.push('    insecure-skip-tls-verify: true');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: k8s-healer-local',
    '  cluster:',
    ...clusterLines,
    'users:',
    '- name: user',
    '  user:',
    ...userLines,
    'contexts:',
    '- name: k8s-healer-local',
    '  context:',
    '    cluster: k8s-healer-local',
    '    user: user',
    'current-context: k8s-healer-local',
    '',
  ].join('\n');
}

/** The self-signed CA among the PEM blocks of the apiserver's --cert-dir output. */
function caFromBundle(bundle: string): string {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const ca = blocks.find((b) => new X509Certificate(b).ca);
  if (!ca) throw new Error('no CA certificate in the apiserver certificate bundle');
  return `${ca}\n`;
}

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

// ---------------------------------------------------------------------------------------------
// Start

let current: ClusterInfo | undefined;

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  if (process.env.TEST_KUBECONFIG && opts.tokenWebhookConfigFile) {
    throw new Error('tokenWebhookConfigFile needs a control plane started here; TEST_KUBECONFIG names an existing cluster');
  }
  const cp = process.env.TEST_KUBECONFIG
    ? await useExistingCluster(process.env.TEST_KUBECONFIG, log)
    : await startLocal(opts, log);
  log(`control plane ready in ${Date.now() - t0} ms (${cp.server})`);
  const handle: ControlPlane = {
    ...cp,
    stop: async () => {
      if (current === handle) current = undefined;
      await cp.stop();
    },
  };
  if (opts.register === false) return handle;
  current = handle;
  process.env[CLUSTER_INFO_ENV] = cp.infoPath;
  return handle;
}

async function useExistingCluster(kubeconfigPath: string, log: (l: string) => void): Promise<ControlPlane> {
  log(`using the cluster of TEST_KUBECONFIG=${kubeconfigPath}`);
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'k8s-healer-cp-'));
  const kc = loadKubeConfig(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`TEST_KUBECONFIG ${kubeconfigPath} has no current cluster`);
  const caCertPem = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile ? await fsp.readFile(cluster.caFile, 'utf8') : '';
  const healer = await provisionHealer(kubeconfigPath, cluster.server, caCertPem || undefined, workDir, cluster.skipTLSVerify)
    .catch(async (err: unknown) => {
      await fsp.rm(workDir, { recursive: true, force: true });
      throw err;
    });
  const info: ClusterInfo = {
    adminKubeconfigPath: path.resolve(kubeconfigPath),
    server: cluster.server,
    caCertPem,
    workDir,
    infoPath: path.join(workDir, 'cluster.json'),
    ...healer,
  };
  await fsp.writeFile(info.infoPath, JSON.stringify(info, null, 2));
  return {
    ...info,
    stop: async () => {
      if (process.env[CLUSTER_INFO_ENV] === info.infoPath) delete process.env[CLUSTER_INFO_ENV];
      await fsp.rm(workDir, { recursive: true, force: true });
    },
  };
}

async function startLocal(opts: StartOptions, log: (l: string) => void): Promise<ControlPlane> {
  const binDir = opts.binDir ?? (() => {
    const found = findBinaries();
    if (!found.ok) throw new Error(found.reason);
    return found.dir;
  })();
  const bin = (b: (typeof REQUIRED_BINARIES)[number]) => path.join(binDir, b);
  const timeout = opts.readyTimeoutMs ?? 90_000;
  const nodeCount = opts.nodes ?? 1;

  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'k8s-healer-cp-'));
  const group = new ProcessGroup(workDir, !opts.keepWorkDir);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await group.stopAll();
    if (process.env[CLUSTER_INFO_ENV] === path.join(workDir, 'cluster.json')) delete process.env[CLUSTER_INFO_ENV];
    if (!opts.keepWorkDir) await fsp.rm(workDir, { recursive: true, force: true });
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = await freePorts(6) as [number, number, number, number, number, number];
    let t = Date.now();
    const pki = await makePki(path.join(workDir, 'pki'));
    const adminCertPem = await fsp.readFile(pki.adminCrt, 'utf8');
    const adminKeyPem = await fsp.readFile(pki.adminKey, 'utf8');
    log(`certificates made in ${Date.now() - t} ms (workDir ${workDir})`);

    // etcd
    t = Date.now();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = group.start('etcd', bin('etcd'), [
      '--name=default',
      `--data-dir=${path.join(workDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await group.waitReady(etcd, async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      return r.status === 200 && r.body.includes('"health":"true"');
    }, timeout);
    log(`etcd ready in ${Date.now() - t} ms`);

    // kube-apiserver
    t = Date.now();
    const server = `https://127.0.0.1:${apiPort}`;
    const certDir = path.join(workDir, 'apiserver-certs');
    const apiserver = group.start('kube-apiserver', bin('kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // 127.0.0.1 may not be a Service endpoint; nothing here needs the kubernetes Service.
      '--endpoint-reconciler-type=none',
      '--authorization-mode=RBAC',
      `--client-ca-file=${pki.caCrt}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      // pods/log and friends go to kwok's kubelet server at the node's InternalIP and port.
      '--kubelet-preferred-address-types=InternalIP',
      `--kubelet-certificate-authority=${pki.caCrt}`,
      `--kubelet-client-certificate=${pki.adminCrt}`,
      `--kubelet-client-key=${pki.adminKey}`,
      '--profiling=false',
      ...(opts.tokenWebhookConfigFile ? [`--authentication-token-webhook-config-file=${opts.tokenWebhookConfigFile}`] : []),
    ]);
    await group.waitReady(apiserver, async () => {
      const r = await httpGet(`${server}/readyz`, { cert: adminCertPem, key: adminKeyPem, insecure: true });
      return r.status === 200;
    }, timeout);
    const caCertPem = caFromBundle(await fsp.readFile(path.join(certDir, 'apiserver.crt'), 'utf8'));
    const apiCaPath = path.join(workDir, 'pki', 'apiserver-ca.crt');
    await fsp.writeFile(apiCaPath, caCertPem);
    const adminKubeconfigPath = path.join(workDir, 'admin.kubeconfig');
    await fsp.writeFile(adminKubeconfigPath, kubeconfigYaml(server, caCertPem, { certPem: adminCertPem, keyPem: adminKeyPem }), { mode: 0o600 });
    // Proves the CA we hand out really verifies the serving certificate.
    await httpGet(`${server}/readyz`, { ca: caCertPem, cert: adminCertPem, key: adminKeyPem });
    log(`kube-apiserver ready in ${Date.now() - t} ms`);

    // Controllers and scheduler start while we install kwok's CRDs and nodes.
    t = Date.now();
    const kcm = group.start('kube-controller-manager', bin('kube-controller-manager'), [
      `--kubeconfig=${adminKubeconfigPath}`,
      `--authentication-kubeconfig=${adminKubeconfigPath}`,
      `--authorization-kubeconfig=${adminKubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${path.join(workDir, 'kcm-certs')}`,
      '--controllers=*',
      '--leader-elect=false',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${apiCaPath}`,
      `--cluster-signing-cert-file=${pki.caCrt}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--profiling=false',
    ]);
    const scheduler = group.start('kube-scheduler', bin('kube-scheduler'), [
      `--kubeconfig=${adminKubeconfigPath}`,
      `--authentication-kubeconfig=${adminKubeconfigPath}`,
      `--authorization-kubeconfig=${adminKubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      `--cert-dir=${path.join(workDir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);

    const admin = loadKubeConfig(adminKubeconfigPath);
    await applyManifest(adminKubeconfigPath, [
      await fsp.readFile(path.join(KWOK_DIR, 'crds/logs.yaml'), 'utf8'),
      await fsp.readFile(path.join(KWOK_DIR, 'crds/clusterlogs.yaml'), 'utf8'),
    ].join('\n---\n'));
    const objects = KubernetesObjectApi.makeApiClient(admin);
    for (const crd of ['logs.kwok.x-k8s.io', 'clusterlogs.kwok.x-k8s.io']) {
      await waitFor(async () => {
        const o = await objects.read<KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }>({
          apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crd },
        });
        return o.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      }, { what: `CRD ${crd} Established`, timeoutMs: 30_000 });
    }

    const nodeNames = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    await applyManifest(adminKubeconfigPath, nodeNames.map(fakeNode));

    const logsDir = path.join(workDir, 'pod-logs');
    await fsp.mkdir(logsDir, { recursive: true });
    const kwok = group.start('kwok', bin('kwok'), [
      `--kubeconfig=${adminKubeconfigPath}`,
      `--config=${path.join(KWOK_DIR, 'stages.yaml')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--node-ip=127.0.0.1',
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      `--tls-cert-file=${pki.kwokCrt}`,
      `--tls-private-key-file=${pki.kwokKey}`,
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.0/16',
      // Logs/ClusterLogs come from the apiserver so tests can add them while kwok runs.
      '--enable-crds=Logs,ClusterLogs',
    ]);

    const healer = await provisionHealer(adminKubeconfigPath, server, caCertPem, workDir, false);

    const insecureHealth = (port: number) => async () => (await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200;
    await Promise.all([
      group.waitReady(kcm, insecureHealth(kcmPort), timeout),
      group.waitReady(scheduler, insecureHealth(schedPort), timeout),
      group.waitReady(kwok, async () => (await httpGet(`https://127.0.0.1:${kwokPort}/healthz`, { ca: await fsp.readFile(pki.caCrt, 'utf8') })).status === 200, timeout),
    ]);
    log(`controller-manager, scheduler and kwok healthy in ${Date.now() - t} ms`);

    t = Date.now();
    const core = admin.makeApiClient(CoreV1Api);
    await group.waitReady(kwok, async () => {
      for (const name of nodeNames) {
        const node = await core.readNode({ name });
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        // The node lifecycle controller removes its not-ready taint once the node is Ready.
        if (!ready || (node.spec?.taints ?? []).length > 0) return false;
      }
      return true;
    }, timeout);
    // The ServiceAccount controller of kube-controller-manager makes "default" accounts; pods need one.
    await group.waitReady(kcm, async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    }, timeout);
    log(`nodes Ready and default ServiceAccount present in ${Date.now() - t} ms`);

    const info: ClusterInfo = {
      adminKubeconfigPath,
      server,
      caCertPem,
      workDir,
      kwok: { nodeNames, logsDir },
      infoPath: path.join(workDir, 'cluster.json'),
      ...healer,
    };
    await fsp.writeFile(info.infoPath, JSON.stringify(info, null, 2));
    return { ...info, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function fakeNode(name: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    // kwok's node-initialize stage keeps these and fills conditions, addresses and the kubelet port.
    // Room for storm tests and scan benchmarks with thousands of pods on one fake node.
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '10000' },
      capacity: { cpu: '32', memory: '256Gi', pods: '10000' },
    },
  };
}

/** Applies infra/rbac.yaml and infra/admission-policy.yaml, mints a token for the healer's ServiceAccount (TokenRequest API) and
 * writes a kubeconfig that uses it. */
async function provisionHealer(
  adminKubeconfigPath: string,
  server: string,
  caCertPem: string | undefined,
  workDir: string,
  insecure: boolean,
): Promise<{ healerKubeconfigPath: string; healerToken: string }> {
  await applyManifest(adminKubeconfigPath, await fsp.readFile(path.join(REPO_ROOT, 'infra/rbac.yaml'), 'utf8'));
  await applyManifest(adminKubeconfigPath, await fsp.readFile(path.join(REPO_ROOT, 'infra/admission-policy.yaml'), 'utf8'));
  const core = loadKubeConfig(adminKubeconfigPath).makeApiClient(CoreV1Api);
  const tr = await waitFor(
    () => core.createNamespacedServiceAccountToken({
      name: HEALER_SERVICE_ACCOUNT,
      namespace: HEALER_NAMESPACE,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 24 * 3600 } },
    }),
    { what: `a token for ServiceAccount ${HEALER_NAMESPACE}/${HEALER_SERVICE_ACCOUNT}`, timeoutMs: 30_000 },
  );
  const healerToken = tr.status?.token;
  if (!healerToken) throw new Error('TokenRequest returned no token');
  const healerKubeconfigPath = path.join(workDir, 'healer.kubeconfig');
  await fsp.writeFile(healerKubeconfigPath, kubeconfigYaml(server, caCertPem, { token: healerToken }, insecure), { mode: 0o600 });
  return { healerKubeconfigPath, healerToken };
}

// ---------------------------------------------------------------------------------------------
// Sharing one control plane between vitest's globalSetup and the test files

/** The control plane started in this process, or the one named by K8S_HEALER_CLUSTER_INFO. */
export function currentCluster(): ClusterInfo {
  if (current) return current;
  const infoPath = process.env[CLUSTER_INFO_ENV];
  if (!infoPath) throw new Error(`no control plane: call startControlPlane() first or set ${CLUSTER_INFO_ENV}`);
  current = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as ClusterInfo;
  return current;
}

/** For test files: the shared control plane if one is running, else a private one.
 * release() stops only a control plane this call started. */
export async function acquireControlPlane(opts: StartOptions = {}): Promise<{ cluster: ClusterInfo; release: () => Promise<void> }> {
  if (current || process.env[CLUSTER_INFO_ENV]) return { cluster: currentCluster(), release: async () => {} };
  const cp = await startControlPlane(opts);
  return {
    cluster: cp,
    release: () => cp.stop(),
  };
}


/**
 * A kubeconfig for any user and groups, as a client certificate signed by the control plane's own
 * CA (CN = user, one O per group): how the apiserver sees an identity another authenticator (an
 * EKS access entry, aws-auth) maps to a username and groups (a CN holds at most 64 characters).
 * Only for a control plane started here.
 */
export async function userKubeconfig(cluster: ClusterInfo, who: { user: string; groups: readonly string[] }): Promise<string> {
  const pkiDir = path.join(cluster.workDir, 'pki');
  const dir = await fsp.mkdtemp(path.join(cluster.workDir, 'user-'));
  // -subj separates fields with "/": one inside a value (an ARN) is escaped.
  const esc = (v: string) => v.replace(/[\\/]/g, (c) => `\\${c}`);
  const subj = `${who.groups.map((g) => `/O=${esc(g)}`).join('')}/CN=${esc(who.user)}`;
  await fsp.writeFile(path.join(dir, 'user.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await openssl(['req', '-new', ...EC_KEY, '-nodes', '-keyout', 'user.key', '-out', 'user.csr', '-subj', subj], dir);
  await openssl(['x509', '-req', '-in', 'user.csr', '-CA', path.join(pkiDir, 'ca.crt'), '-CAkey', path.join(pkiDir, 'ca.key'), '-CAcreateserial', '-out', 'user.crt', '-days', '2', '-extfile', 'user.ext'], dir);
  const file = path.join(dir, 'kubeconfig');
  const [certPem, keyPem] = await Promise.all([fsp.readFile(path.join(dir, 'user.crt'), 'utf8'), fsp.readFile(path.join(dir, 'user.key'), 'utf8')]);
  await fsp.writeFile(file, kubeconfigYaml(cluster.server, cluster.caCertPem, { certPem, keyPem }), { mode: 0o600 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// Helpers for tests

/** A Kubernetes object in any shape (fields beyond apiVersion/kind/metadata allowed). */
export type Manifest = KubernetesObject & { [key: string]: unknown };

/** Server-side applies every object (YAML text with --- separators, one object or a list), in
 * order, with force; returns what the apiserver stored. Namespaced objects default to "default". */
export async function applyManifest(
  kubeconfigPath: string,
  yamlOrObjects: string | Manifest | Manifest[],
  fieldManager = FIELD_MANAGER,
): Promise<KubernetesObject[]> {
  const objs: Manifest[] = typeof yamlOrObjects === 'string'
    ? parseYamlDocuments(yamlOrObjects)
    : Array.isArray(yamlOrObjects) ? yamlOrObjects : [yamlOrObjects];
  const client = KubernetesObjectApi.makeApiClient(loadKubeConfig(kubeconfigPath));
  const out: KubernetesObject[] = [];
  for (const o of objs) {
    try {
      out.push(await client.patch(o, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
    } catch (err) {
      throw new Error(`apply ${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}: ${describeError(err)}`);
    }
  }
  return out;
}

/** loadAllYaml throws on empty documents (a leading ---, comment-only parts): drop them first. */
function parseYamlDocuments(text: string): Manifest[] {
  return text
    .split(/^---[ \t]*$/m)
    .filter((doc) => doc.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#')))
    .map((doc) => loadYaml<Manifest>(doc))
    .filter((o): o is Manifest => !!o);
}

/** Deletes a namespace a test made (its pods go with it), so crash-looping pods do not keep
 * loading the shared control plane for the files that run after. Absent is fine. */
export async function deleteNamespace(kubeconfigPath: string, name: string): Promise<void> {
  const core = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name }).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw err;
  });
}

/** Creates (applies) a namespace and waits for its "default" ServiceAccount, without which the
 * ServiceAccount admission plugin rejects pods. */
export async function ensureNamespace(kubeconfigPath: string, name: string, labels: Record<string, string> = {}): Promise<void> {
  await applyManifest(kubeconfigPath, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  const core = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: name }), {
    what: `ServiceAccount ${name}/default`,
    timeoutMs: 30_000,
  });
}

function criLog(text: string): string {
  // CRI log format, one "F"ull line each: what kwok's log server (k8s.io/cri-client logs) parses.
  if (text === '') return '';
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const base = Date.now() - lines.length;
  return lines.map((l, i) => `${new Date(base + i).toISOString()} stdout F ${l}\n`).join('');
}

function requireKwok(cluster: ClusterInfo): { nodeNames: string[]; logsDir: string } {
  if (!cluster.kwok) {
    throw new Error('this helper needs the local kwok (its log files are local); it is not available with TEST_KUBECONFIG');
  }
  return cluster.kwok;
}

export interface SetPodLogsOptions {
  namespace: string;
  podName: string;
  container: string;
  /** What GET .../log returns. */
  current?: string;
  /** What GET .../log?previous=true returns; unset: that request fails, as for a container
   * that never restarted. */
  previous?: string;
  /** Wait until the apiserver serves `current` for a pod bound to a node (default true). */
  wait?: boolean;
  cluster?: ClusterInfo;
}

/** Makes kwok serve these logs for one container of one pod, through the apiserver's pods/log.
 * A per-pod kwok Logs object wins over ClusterLogs for the whole pod, so other containers of the
 * same pod need their own setPodLogs call. */
export async function setPodLogs(o: SetPodLogsOptions): Promise<void> {
  const cluster = o.cluster ?? currentCluster();
  const { logsDir } = requireKwok(cluster);
  const dir = path.join(logsDir, 'pods', o.namespace, o.podName);
  await fsp.mkdir(dir, { recursive: true });
  const logsFile = path.join(dir, `${o.container}.log`);
  const previousLogsFile = path.join(dir, `${o.container}.previous.log`);
  await fsp.writeFile(logsFile, criLog(o.current ?? ''));
  if (o.previous !== undefined) await fsp.writeFile(previousLogsFile, criLog(o.previous));
  else await fsp.rm(previousLogsFile, { force: true });

  type Entry = { containers?: string[]; logsFile?: string; previousLogsFile?: string; follow?: boolean };
  const objects = KubernetesObjectApi.makeApiClient(loadKubeConfig(cluster.adminKubeconfigPath));
  let entries: Entry[] = [];
  try {
    const existing = await objects.read<KubernetesObject & { spec?: { logs?: Entry[] } }>({
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name: o.podName, namespace: o.namespace },
    });
    entries = (existing.spec?.logs ?? []).filter((e) => !(e.containers ?? []).includes(o.container));
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  entries.push({
    containers: [o.container],
    logsFile,
    ...(o.previous !== undefined ? { previousLogsFile } : {}),
  });
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: { name: o.podName, namespace: o.namespace },
    spec: { logs: entries },
  });

  if (o.wait === false) return;
  const core = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
  const pod = await core.readNamespacedPod({ name: o.podName, namespace: o.namespace });
  if (!pod.spec?.nodeName) return;
  // kwok learns about the Logs object through a watch; wait until it serves it.
  const want = (o.current ?? '').replace(/\n?$/, o.current ? '\n' : '');
  await waitFor(async () => (await core.readNamespacedPodLog({ name: o.podName, namespace: o.namespace, container: o.container })) === want, {
    what: `kwok to serve the logs of ${o.namespace}/${o.podName}/${o.container}`,
    timeoutMs: 15_000,
    intervalMs: 100,
  });
}

/**
 * Makes kwok serve these logs for a container name in every pod of a namespace (ClusterLogs), for
 * pods whose names are not known in advance (a Deployment's, a Job's).
 */
export async function serveNamespaceLogs(o: { namespace: string; name: string; container: string; current: string; previous?: string; cluster?: ClusterInfo }): Promise<void> {
  const cluster = o.cluster ?? currentCluster();
  const { logsDir } = requireKwok(cluster);
  const dir = path.join(logsDir, 'deployments', o.namespace, o.name);
  await fsp.mkdir(dir, { recursive: true });
  const logsFile = path.join(dir, `${o.container}.log`);
  const previousLogsFile = path.join(dir, `${o.container}.previous.log`);
  await fsp.writeFile(logsFile, criLog(o.current));
  if (o.previous !== undefined) await fsp.writeFile(previousLogsFile, criLog(o.previous));
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: `${o.namespace}.${o.name}` },
    spec: {
      selector: { matchNamespaces: [o.namespace] },
      logs: [{ containers: [o.container], logsFile, ...(o.previous !== undefined ? { previousLogsFile } : {}) }],
    },
  });
}

export interface CrashLoopingDeploymentOptions {
  namespace: string;
  name: string;
  replicas?: number;
  /** Output of the last terminated container (GET .../log?previous=true). */
  previousLog: string;
  /** Output of the current container (default empty). */
  currentLog?: string;
  /** Container name; default: the Deployment's name (ClusterLogs match pods by namespace + container). */
  container?: string;
  image?: string;
  /** Seconds between restarts (default 10, the kubelet's first back-off). */
  restartPeriodSeconds?: number;
  exitCode?: number;
  /** Last termination reason (default Error; OOMKilled goes with exitCode 137). */
  terminationReason?: string;
  /** Pods created after this instant run normally: the failing dependency has recovered. */
  crashLoopUntil?: Date;
  labels?: Record<string, string>;
  cluster?: ClusterInfo;
}

export interface CrashLoopingDeployment {
  namespace: string;
  name: string;
  container: string;
  /** matchLabels of the Deployment */
  selector: Record<string, string>;
}

/** A Deployment whose pods kwok reports in CrashLoopBackOff (last exit code 1, reason Error,
 * restartCount climbing, Ready=False), with logs served through pods/log, previous included.
 * Creates the namespace if needed. */
export async function createCrashLoopingDeployment(o: CrashLoopingDeploymentOptions): Promise<CrashLoopingDeployment> {
  const cluster = o.cluster ?? currentCluster();
  requireKwok(cluster);
  const container = o.container ?? o.name;
  await ensureNamespace(cluster.adminKubeconfigPath, o.namespace);

  await serveNamespaceLogs({ namespace: o.namespace, name: o.name, container, current: o.currentLog ?? '', previous: o.previousLog, cluster });

  const selector = { app: o.name };
  const annotations: Record<string, string> = {};
  if (o.restartPeriodSeconds !== undefined) annotations['healer-test/crashloop-period'] = `${o.restartPeriodSeconds}s`;
  if (o.exitCode !== undefined) annotations['healer-test/exit-code'] = String(o.exitCode);
  if (o.terminationReason !== undefined) annotations['healer-test/termination-reason'] = o.terminationReason;
  // The apiserver's creationTimestamp format (seconds, Z), so kwok can compare them as strings.
  if (o.crashLoopUntil !== undefined) annotations['healer-test/crashloop-until'] = o.crashLoopUntil.toISOString().replace(/\.\d{3}Z$/, 'Z');
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace, labels: { ...selector, ...o.labels } },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, ...o.labels, [BEHAVIOUR_LABEL]: 'crashloop' }, annotations },
        spec: { containers: [{ name: container, image: o.image ?? 'registry.example.com/crashy-app:1.0.0' }] },
      },
    },
  });
  return { namespace: o.namespace, name: o.name, container, selector };
}

/** Pods matching a label selector (admin view). */
export async function listPods(kubeconfigPath: string, namespace: string, labelSelector: Record<string, string>): Promise<V1Pod[]> {
  const core = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  const sel = Object.entries(labelSelector).map(([k, v]) => `${k}=${v}`).join(',');
  return (await core.listNamespacedPod({ namespace, labelSelector: sel })).items;
}

export function isPodReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Waits until a Deployment has `replicas` Ready pods (and no terminating ones); returns them. */
export async function waitForReadyPods(kubeconfigPath: string, namespace: string, selector: Record<string, string>, replicas: number, timeoutMs = 60_000): Promise<V1Pod[]> {
  return waitFor(async () => {
    const pods = (await listPods(kubeconfigPath, namespace, selector)).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === replicas && pods.every(isPodReady) ? pods : undefined;
  }, { what: `${replicas} Ready pod(s) ${JSON.stringify(selector)} in ${namespace}`, timeoutMs });
}

export { AppsV1Api, CoreV1Api };
