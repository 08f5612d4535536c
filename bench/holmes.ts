/**
 * `npm run bench:holmes` (also `npm run bench -- --holmes`): HolmesGPT and the healer side by side
 * on the same incidents of the same local control plane, the model replaced for both by the same
 * local Messages-API server (test/support/messages-api-server.ts), which logs every request.
 *
 * Each incident is a real crash-looping Deployment (kwok) with four secrets planted where a
 * workload really leaks them: a literal env value, a container argument, a line of the previous
 * container's log, and the message of a Warning event about the pod. Both sides are scripted
 * through the same investigation: one answer asking for three look-ups at once (the pod described,
 * its events, its previous log), then the final answer. The server's log gives, per diagnosis:
 * requests, prompt tokens (the server's counter, @anthropic-ai/tokenizer over its rendering of
 * tools, system and messages: one counter for both sides), tool calls answered, and which planted
 * secret appears anywhere in what the model received.
 *
 * Wall time: the healer's is gatherEvidence + diagnose in this process (warm, as a warm Lambda);
 * Holmes's is the `holmes ask` process from spawn to exit (Python start-up and imports, config,
 * toolsets from its cache, the kubectl processes its tools run). A timing proxy in front of the
 * server measures every model round trip; "without the model" is the wall time minus their sum.
 * Holmes only reads (it has no actions): the healer's figures are its diagnosis alone, not the
 * policy and action that follow it.
 *
 * Holmes (PyPI holmesgpt, pinned in scripts/setup-tools.sh) lives in its own cached venv made by
 * `bash scripts/setup-tools.sh --holmes` (run from here when missing); kubectl comes from
 * `scripts/k8s-binaries.sh --kubectl`. Without Python, the package or kubectl the bench is skipped
 * with the reason printed. It is never part of `npm test`. Never asserts a time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { anthropicDiagnoserFromConfig } from '../lib/adapters/anthropic-diagnoser.js';
import { KubernetesCluster } from '../lib/adapters/kubernetes.js';
import { KubernetesInvestigator } from '../lib/adapters/kubernetes-investigator.js';
import { loadConfig } from '../lib/config/config.js';
import type { Incident } from '../lib/domain/types.js';
import { systemClock } from '../lib/ports/index.js';
import {
  BEHAVIOUR_LABEL,
  REPO_ROOT,
  applyManifest,
  deleteNamespace,
  ensureBinaries,
  ensureNamespace,
  loadKubeConfig,
  serveNamespaceLogs,
  startControlPlane,
  type ClusterInfo,
} from '../lib/local/control-plane.js';
import { crashLoopIncident, waitForCrashLoopingPods } from '../test/support/crashloop-incidents.js';
import { startMessagesApiServer, type MessagesApiServer, type RecordedRequest, type ScriptedStep } from '../test/support/messages-api-server.js';
import { median } from './stats.js';

/** Timed diagnoses per side and incident (after one untimed warm-up per side). */
const RUNS = Number(process.env.BENCH_HOLMES_RUNS ?? '3');
/** When set, a directory: every diagnosis's requests as the server logged them, for reading what each side sent. */
const DUMP = process.env.BENCH_HOLMES_DUMP;
const HOLMES_VERSION = '0.45.0';
/** The same model name for both sides; the server answers whatever it is called. */
const MODEL = 'claude-sonnet-5-5';
/** Holmes's toolsets for Kubernetes in 0.45: kubectl through jq (core), pod logs, and bash limited to its read-only allow list (kubectl get/describe/events/logs ...). */
const HOLMES_TOOLSETS = 'kubernetes/core,kubernetes/logs,bash';
/** Enabled by default in 0.45 besides those, switched off here: nothing outside the cluster. */
const HOLMES_OFF = ['internet', 'connectivity_check', 'skills', 'kubernetes/kube-prometheus-stack', 'core_investigation', 'robusta'];
const KEY = 'sk-ant-bench-holmes-0000000000000000000000';
/**
 * Holmes runs each bash tool command under `ulimit -v` of TOOL_MEMORY_LIMIT_MB (800 on x86-64).
 * Under that address-space limit kubectl 1.34.4 (built with Go 1.26.8 by scripts/k8s-binaries.sh
 * on the project machine) sometimes dies with Go's "fatal error: out of memory", and the look-up returns Holmes's
 * [OOM] hint instead of the pod (measured and reported by the bench, see defaultLimitFailures).
 * The comparison raises it, as Holmes's message advises, so both sides read what they were asked to.
 */
const HOLMES_DEFAULT_TOOL_MEMORY_MB = 800;
const HOLMES_TOOL_MEMORY_MB = 2048;
const SECRET_KINDS = ['env', 'args', 'log', 'event'] as const;
type SecretKind = (typeof SECRET_KINDS)[number];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => console.error(`[bench:holmes] ${line}`);

// ---------------------------------------------------------------------------------------------
// What is needed, found or made; a reason when it cannot be had

interface Tools {
  readonly holmes: string;
  readonly kubectlDir: string;
}

function cacheRoot(): string {
  return process.env.K8S_HEALER_CACHE ?? path.join(os.homedir(), '.cache', 'k8s-healer');
}

/** The holmes CLI of the pinned version and kubectl, installing/building them when missing; a string says why not. */
export function findTools(): Tools | string {
  const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (python.error || python.status !== 0) return `python3 not found (${python.error?.message ?? python.stderr.trim()}); HolmesGPT is a Python package`;
  const venv = path.join(cacheRoot(), 'holmes-venv');
  const version = () => spawnSync(path.join(venv, 'bin', 'python'), ['-c', "import importlib.metadata as m; print(m.version('holmesgpt'))"], { encoding: 'utf8' }).stdout?.trim();
  if (version() !== HOLMES_VERSION) {
    log(`holmesgpt ${HOLMES_VERSION} not in ${venv}: bash scripts/setup-tools.sh --holmes`);
    const setup = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/setup-tools.sh'), '--holmes'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HOLMESGPT_VERSION: HOLMES_VERSION },
    });
    if (setup.status !== 0) return `installing holmesgpt==${HOLMES_VERSION} failed (scripts/setup-tools.sh --holmes exited ${setup.status}; its error is above)`;
    if (version() !== HOLMES_VERSION) return `holmesgpt ${HOLMES_VERSION} still not importable from ${venv} after scripts/setup-tools.sh --holmes`;
  }
  const kubectl = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/k8s-binaries.sh'), '--kubectl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const kubectlDir = kubectl.stdout?.trim().split('\n').at(-1);
  if (kubectl.status !== 0 || !kubectlDir) return `kubectl could not be built (scripts/k8s-binaries.sh --kubectl exited ${kubectl.status})`;
  return { holmes: path.join(venv, 'bin', 'holmes'), kubectlDir };
}

// ---------------------------------------------------------------------------------------------
// A timing proxy in front of the Messages-API server: how long each model round trip took

interface ModelCall {
  /** performance.now() when the request arrived. */
  readonly at: number;
  readonly ms: number;
}

async function startTimingProxy(target: string): Promise<{ url: string; calls: ModelCall[]; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const calls: ModelCall[] = [];
  const server: Server = createServer((req, res) => {
    const at = performance.now();
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        res.on('finish', () => calls.push({ at, ms: performance.now() - at }));
      },
    );
    out.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`timing proxy: ${err.message}`);
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// The incidents: real workloads with planted secrets

interface IncidentSpec {
  readonly name: string;
  readonly what: string;
  readonly image: string;
  readonly env: (secret: string) => { name: string; value: string };
  readonly args: (secret: string) => string[];
  readonly previousLog: (secret: string) => string;
  readonly event: (secret: string) => { reason: string; message: string };
  readonly exitCode?: number;
  readonly terminationReason?: string;
  readonly category: string;
  readonly summary: string;
}

const INCIDENTS: readonly IncidentSpec[] = [
  {
    name: 'orders-api',
    what: 'crash loop, database refused connections',
    image: 'registry.example.com/orders-api:2.3.1',
    env: (s) => ({ name: 'DB_PASSWORD', value: s }),
    args: (s) => ['--listen=:8080', `--api-key=${s}`],
    previousLog: (s) => [
      '2026-12-05T03:00:00Z starting orders-api 2.3.1',
      `2026-12-05T03:00:01Z connecting to postgres://orders:${s}@orders-db:5432/orders`,
      '2026-12-05T03:00:04Z error: dial tcp 10.0.0.17:5432: connect: connection refused',
      '2026-12-05T03:00:04Z fatal: database unreachable, exiting',
    ].join('\n'),
    event: (s) => ({ reason: 'NotifyFailed', message: `POST https://hooks.example.com/orders failed with 401; request headers: Authorization: Bearer ${s}` }),
    category: 'transient-crash',
    summary: 'orders-api crash-loops: postgres refused connections',
  },
  {
    name: 'billing-worker',
    what: 'OOMKilled while loading the ledger',
    image: 'registry.example.com/billing-worker:7.0.4',
    env: (s) => ({ name: 'PAYMENT_PROVIDER_TOKEN', value: s }),
    args: (s) => ['--queue=billing', '--db-dsn', `postgres://billing:${s}@billing-db:5432/billing`],
    previousLog: (s) => [
      '2026-12-05T03:10:00Z billing-worker 7.0.4 starting',
      `2026-12-05T03:10:00Z payment client configured with key sk_live_${s}`,
      '2026-12-05T03:10:02Z loading ledger snapshot (4,812,113 entries)',
      '2026-12-05T03:10:09Z heap 1.9 GiB of 2 GiB',
    ].join('\n'),
    event: (s) => ({ reason: 'ConfigFetchFailed', message: `GET https://config.example.com/v1/billing?access_token=${s} returned 503` }),
    exitCode: 137,
    terminationReason: 'OOMKilled',
    category: 'oom',
    summary: 'billing-worker is OOMKilled while loading its ledger',
  },
];

interface Planted {
  readonly spec: IncidentSpec;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly incident: Incident;
  readonly secrets: Readonly<Record<SecretKind, string>>;
}

/** Distinct per incident and per run, letters and digits only (found as is in JSON). */
const secret = (tag: string) => `${tag}${randomBytes(18).toString('hex').slice(0, 24)}`;

async function plant(cluster: ClusterInfo, spec: IncidentSpec, index: number): Promise<Planted> {
  const namespace = `holmes-bench-${index}-${Date.now().toString(36)}`;
  const secrets = { env: secret('EnvS3cr'), args: secret('ArgS3cr'), log: secret('LogS3cr'), event: secret('EvtS3cr') };
  const container = spec.name;
  await ensureNamespace(cluster.adminKubeconfigPath, namespace);
  await serveNamespaceLogs({ namespace, name: spec.name, container, current: '', previous: spec.previousLog(secrets.log), cluster });
  const annotations: Record<string, string> = { 'healer-test/crashloop-period': '10s' };
  if (spec.exitCode !== undefined) annotations['healer-test/exit-code'] = String(spec.exitCode);
  if (spec.terminationReason !== undefined) annotations['healer-test/termination-reason'] = spec.terminationReason;
  const selector = { app: spec.name };
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: spec.name, namespace, labels: selector },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, [BEHAVIOUR_LABEL]: 'crashloop' }, annotations },
        spec: {
          containers: [{
            name: container,
            image: spec.image,
            args: spec.args(secrets.args),
            env: [{ name: 'LOG_LEVEL', value: 'info' }, spec.env(secrets.env)],
            resources: { limits: { memory: '2Gi' }, requests: { cpu: '250m', memory: '2Gi' } },
          }],
        },
      },
    },
  });
  const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, selector, 1);
  const podName = pod?.metadata?.name;
  if (!pod || !podName) throw new Error(`no crash-looping pod for ${namespace}/${spec.name}`);
  const event = spec.event(secrets.event);
  const now = new Date();
  await loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api).createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: `${podName}.bench${randomBytes(4).toString('hex')}`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: podName, namespace, uid: pod.metadata?.uid ?? '' },
      reason: event.reason,
      message: event.message,
      type: 'Warning',
      source: { component: `${spec.name}-sidecar` },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
  return { spec, namespace, pod: podName, container, incident: crashLoopIncident(namespace, podName), secrets };
}

// ---------------------------------------------------------------------------------------------
// One diagnosis per side, scripted the same way

/**
 * healer: as deployed by default (HEALER_MODEL_MAX_STEPS=4), scripted through the same look-ups as
 * Holmes; healer-single: HEALER_MODEL_MAX_STEPS=1, the verdict from the evidence read up front, no
 * look-ups (no Holmes counterpart: Holmes sees nothing until it calls a tool).
 */
const SIDES = ['healer', 'holmes', 'healer-single'] as const;
type Side = (typeof SIDES)[number];
const SIDE_LABEL: Readonly<Record<Side, string>> = {
  healer: 'k8s-healer (evidence, then 3 look-ups)',
  holmes: `HolmesGPT ${HOLMES_VERSION} (\`holmes ask\`, reads only)`,
  'healer-single': 'k8s-healer, `HEALER_MODEL_MAX_STEPS=1` (evidence only)',
};

interface Measured {
  readonly side: Side;
  readonly requests: number;
  /** Prompt tokens summed over the requests, and of the first request alone. */
  readonly inputTokens: number;
  readonly firstRequestTokens: number;
  /** Tools + system of the first request. */
  readonly prefixTokens: number;
  readonly toolCalls: number;
  readonly wallMs: number;
  readonly modelMs: number;
  /** From the start of the diagnosis to the first model request (healer: evidence reads; Holmes: process start-up). */
  readonly beforeFirstMs: number;
  readonly leaked: Readonly<Record<SecretKind, boolean>>;
}

const toolUses = (calls: { name: string; input: unknown }[]): ScriptedStep => ({ kind: 'tool-uses', calls });

/** The three look-ups each side asks for in its first answer, in its own tool names. */
function healerScript(p: Planted, lookups: boolean): ScriptedStep[] {
  const pod = { kind: 'Pod', name: p.pod, namespace: p.namespace };
  return [
    ...(lookups
      ? [toolUses([
        { name: 'describe_owner', input: pod },
        { name: 'events', input: pod },
        { name: 'more_logs', input: { container: p.container, which: 'previous' } },
      ])]
      : []),
    {
      kind: 'tool-use',
      input: {
        summary: p.spec.summary,
        rootCause: `The previous container of ${p.pod} shows it: ${p.spec.what}.`,
        category: p.spec.category,
        confidence: 0.8,
        evidenceCited: ['previous log'],
        restartCanHelp: false,
        recommendation: 'page',
        target: pod,
      },
    },
  ];
}

const HOLMES_ANSWER = 'Scripted final answer of the bench.';

function holmesScript(p: Planted): ScriptedStep[] {
  return [
    toolUses([
      { name: 'bash', input: { command: `kubectl describe pod ${p.pod} -n ${p.namespace}`, suggested_prefixes: ['kubectl describe'], timeout: 30 } },
      { name: 'bash', input: { command: `kubectl events -n ${p.namespace} --for pod/${p.pod}`, suggested_prefixes: ['kubectl events'], timeout: 30 } },
      { name: 'fetch_pod_logs', input: { pod_name: p.pod, namespace: p.namespace } },
    ]),
    { kind: 'text', text: HOLMES_ANSWER },
  ];
}

const holmesQuestion = (p: Planted) =>
  `Alert KubePodCrashLooping (severity warning): pod ${p.pod} in namespace ${p.namespace} is in CrashLoopBackOff. Why, and what should be done?`;

/** Figures from the server's log of one diagnosis; throws when the conversation did not go as scripted. */
let dumped = 0;

function fromLog(side: Measured['side'], p: Planted, requests: readonly RecordedRequest[], pending: number): Omit<Measured, 'wallMs' | 'modelMs' | 'beforeFirstMs'> {
  if (DUMP) {
    mkdirSync(DUMP, { recursive: true });
    writeFileSync(path.join(DUMP, `${String(++dumped).padStart(2, '0')}-${p.spec.name}-${side}.json`), JSON.stringify({ secrets: p.secrets, requests }, null, 1));
  }
  const bad = requests.filter((r) => r.status !== 200 || r.problems.length > 0);
  if (bad.length > 0 || pending > 0) {
    throw new Error(`${side} on ${p.spec.name}: ${requests.length} request(s), ${pending} scripted answer(s) left; refused: ${bad.map((r) => `${r.status} ${r.problems.join('; ')}`).join(' | ') || 'none'}`);
  }
  const leaked = Object.fromEntries(SECRET_KINDS.map((k) => [k, requests.some((r) => r.rawBody.includes(p.secrets[k]))])) as Record<SecretKind, boolean>;
  return {
    side,
    requests: requests.length,
    inputTokens: requests.reduce((n, r) => n + (r.estimatedInputTokens ?? 0), 0),
    firstRequestTokens: requests[0]?.estimatedInputTokens ?? 0,
    prefixTokens: requests[0]?.estimatedPrefixTokens ?? 0,
    toolCalls: requests.reduce((n, r) => n + (r.toolResultsFor?.length ?? 0), 0),
    leaked,
  };
}

interface Sides {
  readonly server: MessagesApiServer;
  readonly proxy: Awaited<ReturnType<typeof startTimingProxy>>;
  readonly cluster: ClusterInfo;
  readonly tools: Tools;
  readonly workDir: string;
  readonly holmesConfig: string;
}

async function diagnoseWithHealer(s: Sides, p: Planted, side: 'healer' | 'healer-single'): Promise<Measured> {
  const steps = side === 'healer' ? 4 : 1;
  s.server.reset();
  s.proxy.calls.length = 0;
  s.server.enqueue(...healerScript(p, steps > 1));
  const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: s.proxy.url, HEALER_MODEL: MODEL, HEALER_MODEL_MAX_RETRIES: '0', HEALER_MODEL_MAX_STEPS: String(steps) });
  const kubeConfig = loadKubeConfig(s.cluster.healerKubeconfigPath);
  const reader = new KubernetesCluster(kubeConfig, config, systemClock);
  // As lib/wiring/model-diagnoser.ts wires it (without the runbook fallback and the daily budget).
  const diagnoser = anthropicDiagnoserFromConfig(config, config.settings.model.maxSteps > 1 ? { investigator: new KubernetesInvestigator(kubeConfig) } : {});
  if (!diagnoser) throw new Error('no diagnoser from the configuration');
  const start = performance.now();
  const evidence = await reader.gatherEvidence(p.incident);
  const diagnosis = await diagnoser.diagnose(p.incident, evidence);
  const wallMs = performance.now() - start;
  if (diagnosis.recommendation !== 'page' || diagnosis.usage?.steps !== (steps > 1 ? 2 : 1)) throw new Error(`${side} on ${p.spec.name}: unexpected diagnosis ${JSON.stringify(diagnosis)}`);
  return {
    ...fromLog(side, p, s.server.requests, s.server.pending()),
    wallMs,
    modelMs: s.proxy.calls.reduce((n, c) => n + c.ms, 0),
    beforeFirstMs: (s.proxy.calls[0]?.at ?? Number.NaN) - start,
  };
}

function holmesEnv(s: Sides): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Only what Holmes needs: no ANTHROPIC_* or cloud credentials of this shell leak into it.
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    PATH: `${s.tools.kubectlDir}:${env['PATH'] ?? '/usr/bin:/bin'}`,
    // Its own HOME: the toolset status cache (~/.holmes) and kubectl's cache belong to this bench.
    HOME: path.join(s.workDir, 'home'),
    KUBECONFIG: s.cluster.healerKubeconfigPath,
    ENABLED_BY_DEFAULT_TOOLSETS: HOLMES_TOOLSETS,
    // LiteLLM would fetch its model price map from the internet at import; the packaged copy instead.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    ENABLE_TELEMETRY: 'false',
    TOOL_MEMORY_LIMIT_MB: String(HOLMES_TOOL_MEMORY_MB),
    COLUMNS: '200',
    NO_COLOR: '1',
  };
}

/** Runs a holmes command to its end; resolves with exit code and output. */
function runHolmes(s: Sides, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; spawnedAt: number; endedAt: number }> {
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(s.tools.holmes, args, { env: holmesEnv(s), cwd: s.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, spawnedAt, endedAt: performance.now() });
    });
  });
}

async function diagnoseWithHolmes(s: Sides, p: Planted): Promise<Measured> {
  s.server.reset();
  s.proxy.calls.length = 0;
  s.server.enqueue(...holmesScript(p));
  const run = await runHolmes(s, ['ask', holmesQuestion(p), '--config', s.holmesConfig, '--no-interactive', '--no-echo']);
  const output = `${run.stdout}\n${run.stderr}`;
  if (run.code !== 0 || !output.includes(HOLMES_ANSWER)) {
    throw new Error(`holmes ask on ${p.spec.name} exited ${run.code} without the scripted answer; ${s.server.requests.length} request(s) reached the server; last output:\n${output.slice(-3000)}`);
  }
  return {
    ...fromLog('holmes', p, s.server.requests, s.server.pending()),
    wallMs: run.endedAt - run.spawnedAt,
    modelMs: s.proxy.calls.reduce((n, c) => n + c.ms, 0),
    beforeFirstMs: (s.proxy.calls[0]?.at ?? Number.NaN) - run.spawnedAt,
  };
}

/**
 * How often `kubectl describe pod` dies as Holmes runs it by default: the same shell prefix its bash
 * toolset puts before each command (`ulimit -v <800 MiB in KiB> 2>/dev/null || true; `).
 */
function defaultLimitFailures(s: Sides, p: Planted, runs: number): { failed: number; outOfMemory: number; runs: number; kubectl: string } {
  let failed = 0;
  let outOfMemory = 0;
  const env = holmesEnv(s);
  const version = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { env, encoding: 'utf8' });
  let kubectl = 'kubectl (version unknown)';
  try {
    const v = (JSON.parse(version.stdout) as { clientVersion?: { gitVersion?: string; goVersion?: string } }).clientVersion;
    kubectl = `kubectl ${v?.gitVersion ?? '?'} built with ${v?.goVersion ?? '?'}`;
  } catch {
    // reported as unknown
  }
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('bash', ['-c', `ulimit -v ${HOLMES_DEFAULT_TOOL_MEMORY_MB * 1024} 2>/dev/null || true; kubectl describe pod ${p.pod} -n ${p.namespace}`], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (r.status !== 0) failed += 1;
    if (/fatal error: out of memory|runtime: out of memory/.test(r.stderr ?? '')) outOfMemory += 1;
  }
  return { failed, outOfMemory, runs, kubectl };
}

// ---------------------------------------------------------------------------------------------
// The table

const range = (values: readonly number[], digits = 0) =>
  values.length === 1 ? fmt(values[0] ?? Number.NaN, digits) : `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;

/** One figure that must not differ between runs of a side (the script is fixed); a range if it did. */
function same(values: readonly number[]): string {
  return Math.min(...values) === Math.max(...values) ? fmt(values[0] ?? Number.NaN) : `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
}

function leakCell(runs: readonly Measured[]): string {
  const parts = SECRET_KINDS.map((k) => {
    const n = runs.filter((r) => r.leaked[k]).length;
    return n === 0 ? null : n === runs.length ? k : `${k} (${n} of ${runs.length} runs)`;
  }).filter((x): x is string => x !== null);
  return parts.length === 0 ? 'none' : `**${parts.join(', ')}**`;
}

export function holmesTable(results: readonly { planted: Planted; runs: Readonly<Record<Side, Measured[]>> }[]): string[] {
  const lines = [
    '| incident | side | model requests | input tokens (all requests; first request; its tools + system) | tool calls | wall time, ms | model round trips, ms | without the model, ms | of which before the first request, ms | planted secrets that reached the model (of env, args, log, event) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { planted, runs: bySide } of results) {
    for (const side of SIDES) {
      const runs = bySide[side];
      lines.push(
        `| ${planted.spec.name}: ${planted.spec.what} | ${SIDE_LABEL[side]} | ${same(runs.map((r) => r.requests))} | ${same(runs.map((r) => r.inputTokens))}; ${same(runs.map((r) => r.firstRequestTokens))}; ${same(runs.map((r) => r.prefixTokens))} | ${same(runs.map((r) => r.toolCalls))} | ${range(runs.map((r) => r.wallMs))} | ${range(runs.map((r) => r.modelMs), 1)} | ${range(runs.map((r) => r.wallMs - r.modelMs))} | ${range(runs.map((r) => r.beforeFirstMs))} | ${leakCell(runs)} |`,
      );
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

export async function benchHolmes(): Promise<string[]> {
  const tools = findTools();
  if (typeof tools === 'string') {
    const line = `HolmesGPT side by side: skipped: ${tools}.`;
    console.log(line);
    return [line];
  }
  await ensureBinaries();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'k8s-healer-holmes-'));
  const server = await startMessagesApiServer({ apiKey: KEY });
  const proxy = await startTimingProxy(server.baseURL);
  const cp = await startControlPlane({ nodes: 1, log: (l) => log(`control plane: ${l}`) });
  const planted: Planted[] = [];
  try {
    const holmesConfig = path.join(workDir, 'holmes.yaml');
    writeFileSync(holmesConfig, [
      `model: anthropic/${MODEL}`,
      `api_key: ${KEY}`,
      `api_base: ${proxy.url}`,
      'toolsets:',
      ...HOLMES_OFF.map((t) => `  ${t}: {enabled: false}`),
      '',
    ].join('\n'));
    const s: Sides = { server, proxy, cluster: cp, tools, workDir, holmesConfig };

    // Holmes checks every toolset's prerequisites once and caches the statuses in ~/.holmes: done
    // here, untimed, as an operator's first run would; the timed runs read the cache.
    const refresh = await runHolmes(s, ['toolset', 'refresh', '--config', holmesConfig]);
    if (refresh.code !== 0) throw new Error(`holmes toolset refresh exited ${refresh.code}:\n${(refresh.stdout + refresh.stderr).slice(-3000)}`);
    log(`holmes toolset refresh (untimed set-up): ${fmt(refresh.endedAt - refresh.spawnedAt)} ms`);

    for (const [i, spec] of INCIDENTS.entries()) planted.push(await plant(cp, spec, i));
    log(`planted ${planted.map((p) => `${p.namespace}/${p.pod}`).join(', ')}`);

    // One untimed warm-up per side (module loading, connection set-up, Python bytecode).
    const first = planted[0];
    const diagnose = (side: Side, p: Planted) => (side === 'holmes' ? diagnoseWithHolmes(s, p) : diagnoseWithHealer(s, p, side));
    if (first) for (const side of SIDES) await diagnose(side, first);
    const results = planted.map((p) => {
      const runs: Record<Side, Measured[]> = { healer: [], holmes: [], 'healer-single': [] };
      return { planted: p, runs };
    });
    for (let run = 0; run < RUNS; run++) {
      for (const r of results) {
        // Alternating order, so load on the shared machine falls on every side.
        const order = run % 2 === 0 ? SIDES : [...SIDES].reverse();
        for (const side of order) {
          const m = await diagnose(side, r.planted);
          r.runs[side].push(m);
          log(`${r.planted.spec.name} ${side} run ${run + 1}: ${m.requests} requests, ${m.inputTokens} input tokens, ${m.toolCalls} tool calls, wall ${fmt(m.wallMs)} ms, model ${fmt(m.modelMs, 1)} ms, first request after ${fmt(m.beforeFirstMs)} ms; leaked: ${SECRET_KINDS.filter((k) => m.leaked[k]).join(', ') || 'none'}`);
        }
      }
    }
    const probe = first ? defaultLimitFailures(s, first, 20) : undefined;
    if (probe) log(`kubectl describe under Holmes's default ulimit -v ${HOLMES_DEFAULT_TOOL_MEMORY_MB} MiB: ${probe.failed} of ${probe.runs} failed (${probe.outOfMemory} with Go's out of memory)`);
    const lines = [
      `Same local control plane, same incidents, the same local Messages-API server behind a timing proxy for both; ${RUNS} timed diagnoses per side and incident after one untimed warm-up each, sides alternating. ` +
        'Both sides were scripted through the same investigation: one answer asking for three look-ups at once (the pod described, its events, its previous log), then the final answer ' +
        '(healer: `describe_owner`, `events`, `more_logs`, then `submit_verdict`; Holmes: `bash` `kubectl describe pod`, `bash` `kubectl events --for pod/…`, `fetch_pod_logs`, then text). ' +
        'A third row shows the healer without look-ups (`HEALER_MODEL_MAX_STEPS=1`, one request with the evidence it read up front, then `submit_verdict`). ' +
        'Both read with the same identity (the healer\'s ServiceAccount, infra/rbac.yaml). ' +
        `Holmes ran with \`TOOL_MEMORY_LIMIT_MB=${HOLMES_TOOL_MEMORY_MB}\`: at its default (${HOLMES_DEFAULT_TOOL_MEMORY_MB}, applied as \`ulimit -v\` before each bash command) ` +
        (probe ? `\`kubectl describe pod\` failed ${probe.failed} of ${probe.runs} times here (${probe.outOfMemory} with Go's "fatal error: out of memory"; ${probe.kubectl}), ` : '') +
        'and such a look-up returns Holmes\'s [OOM] hint to the model instead of the pod. ' +
        `Holmes ran with its Kubernetes toolsets only (${HOLMES_TOOLSETS.split(',').map((t) => `\`${t}\``).join(', ')}; bash limited to its read-only allow list) and its toolset statuses cached (\`holmes toolset refresh\` once before, ${fmt(refresh.endedAt - refresh.spawnedAt)} ms, untimed).`,
      '',
      ...holmesTable(results),
      '',
      `Input tokens: the server's count (@anthropic-ai/tokenizer, legacy vocabulary, over the JSON of each tool and the text of each system and message block), the same counter for both; real API counts are higher (see "Diagnosis tokens"). ` +
        'Tool calls: tool_result blocks the model received. Wall time: the healer\'s is `gatherEvidence` + `diagnose` in a warm process (what a warm Lambda does before policy); ' +
        `Holmes's is the \`holmes ask\` process from spawn to exit, which includes Python start-up, imports, configuration and toolset loading (before its first request) and one kubectl process per look-up (two for the log: previous and current). ` +
        'Before the first request the healer reads its evidence (pod, owner chain, logs, events, node, rollout), which goes into its first prompt, so its scripted look-ups repeat part of it. ' +
        'Model round trips: time the timing proxy held each request (the scripted server answers at once; this includes its token counting). ' +
        'A secret counts as reached when its exact string appears anywhere in a request body. Holmes only reads and proposes in prose; the healer\'s figures are its diagnosis alone, before the policy and the write gate.',
    ];
    console.log(lines.join('\n'));
    return lines;
  } finally {
    for (const p of planted) await deleteNamespace(cp.adminKubeconfigPath, p.namespace).catch(() => undefined);
    await cp.stop();
    await proxy.close();
    await server.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

// Run directly (npm run bench:holmes); bench/run.ts imports benchHolmes for --holmes.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.HEALER_LOG_LEVEL = 'error';
  await benchHolmes();
}
