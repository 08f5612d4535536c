/**
 * `npm run bench:scan` (or `npm run bench -- --scan`): the scheduled scan's read + detection over
 * a large cluster, for BENCHMARKS.md. Not a test: it prints numbers.
 *
 * Starts a private local control plane (etcd, kube-apiserver, controller-manager, scheduler,
 * kwok), creates DEPLOYMENTS x REPLICAS pods on a kwok node (most healthy, one Deployment
 * crash-looping, one that cannot be scheduled), then measures readSnapshot + detectors + grouping
 * with the healer's own identity. Each measurement runs in a fresh Node process (as a Lambda cold
 * start would), so its memory is the scan's and not the setup's: one cold scan, then WARM_RUNS
 * warm scans in the same process. Per scan:
 *   - wall time of the read and of detection;
 *   - peak RSS and heap (process.memoryUsage sampled every 5 ms), against the process's baseline;
 *   - the heap the finished snapshot keeps (after a forced GC), and for comparison the heap the
 *     raw pod list alone keeps when its pages are held whole;
 *   - API requests: counted in the client (every request passes the KubeConfig's authentication
 *     hook) and, as a cross-check, the apiserver's own apiserver_request_total{verb="LIST"}
 *     (read from /metrics with the admin credentials; it counts every client, so it is >=).
 * Sizes: BENCH_SCAN_DEPLOYMENTS (20), BENCH_SCAN_REPLICAS (150), BENCH_SCAN_PROCESSES (3),
 * BENCH_SCAN_WARM_RUNS (3).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as https from 'node:https';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, type V1PodList } from '@kubernetes/client-node';
import {
  CLUSTER_INFO_ENV,
  REPO_ROOT,
  applyManifest,
  createCrashLoopingDeployment,
  currentCluster,
  ensureNamespace,
  loadKubeConfig,
  startControlPlane,
  waitFor,
  type ClusterInfo,
  type ControlPlane,
} from '../lib/local/control-plane.js';
import { KubernetesCluster } from '../lib/adapters/kubernetes.js';
import { groupByOwner, runDetectors } from '../lib/detect/index.js';
import { systemClock } from '../lib/ports/index.js';

const DEPLOYMENTS = Number(process.env.BENCH_SCAN_DEPLOYMENTS ?? 20);
const REPLICAS = Number(process.env.BENCH_SCAN_REPLICAS ?? 150);
const PROCESSES = Number(process.env.BENCH_SCAN_PROCESSES ?? 3);
const WARM_RUNS = Number(process.env.BENCH_SCAN_WARM_RUNS ?? 3);
const NAMESPACE = 'bench-scan';
// As a site would set HEALER_SCAN_UNSCHEDULABLE_SECONDS low: the Pending pods are findings too.
const SETTINGS = { unschedulableSeconds: 0 };
const RESULT_PREFIX = 'SCAN-BENCH-RESULT ';
const MiB = 1024 * 1024;
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** The healer's kubeconfig, counting every request the generated client sends. */
class CountingKubeConfig extends KubeConfig {
  requests: string[] = [];
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.requests.push(`${context.getHttpMethod()} ${new URL(context.getUrl()).pathname}`);
    return super.applySecurityAuthentication(context);
  }
}

/** Sum of apiserver_request_total{verb="LIST"} from the apiserver's /metrics (admin credentials). */
async function apiserverListCount(admin: KubeConfig, server: string): Promise<number> {
  const opts: https.RequestOptions = {};
  await admin.applyToHTTPSOptions(opts);
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.request(new URL('/metrics', server), { ...opts, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`/metrics: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  let total = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('verb="LIST"')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Measuring (in a fresh process)

interface ScanFigures {
  readMs: number;
  detectMs: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  retainedHeapMiB: number;
  requests: number;
  requestPaths: Record<string, number>;
  apiserverLists: number;
  pods: number;
  events: number;
  findings: number;
  groups: number;
  gaps: string[];
  snapshotJsonMiB: number;
}

interface ProcessFigures {
  baselineRssMiB: number;
  baselineHeapMiB: number;
  cold: ScanFigures;
  warm: ScanFigures[];
  /** The baseline, alternated with the warm scans: the same nine lists, raw, nothing kept. */
  rawListMs: number[];
  rawPodListHeapMiB: number;
}

/**
 * The baseline in the same process: the same nine cluster-wide lists as readSnapshot (same pages of
 * 500, same Warning-events selector, all at once) with the same generated client, each page
 * dropped as it arrives: no mapping, no snapshot. What any reader of these objects pays.
 */
async function rawListOnce(kc: KubeConfig): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  type Page = { metadata?: { _continue?: string } };
  const drain = async (list: (token: string | undefined) => Promise<Page>) => {
    let token: string | undefined;
    do token = (await list(token)).metadata?._continue || undefined;
    while (token);
  };
  const page = { limit: 500 };
  const t0 = performance.now();
  await Promise.all([
    drain((c) => core.listPodForAllNamespaces({ ...page, _continue: c })),
    drain((c) => apps.listDeploymentForAllNamespaces({ ...page, _continue: c })),
    drain((c) => apps.listReplicaSetForAllNamespaces({ ...page, _continue: c })),
    drain((c) => batch.listJobForAllNamespaces({ ...page, _continue: c })),
    drain((c) => batch.listCronJobForAllNamespaces({ ...page, _continue: c })),
    drain((c) => apps.listStatefulSetForAllNamespaces({ ...page, _continue: c })),
    drain((c) => apps.listDaemonSetForAllNamespaces({ ...page, _continue: c })),
    drain((c) => core.listNode({ ...page, _continue: c })),
    drain((c) => core.listEventForAllNamespaces({ ...page, _continue: c, fieldSelector: 'type=Warning' })),
  ]);
  return performance.now() - t0;
}

async function scanOnce(cluster: ClusterInfo, admin: KubeConfig, kc: CountingKubeConfig): Promise<ScanFigures> {
  const reader = new KubernetesCluster(kc, { logTailLines: 100, logLimitBytes: 16 * 1024, eventsLimit: 20 }, systemClock);
  kc.requests = [];
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const listsBefore = await apiserverListCount(admin, cluster.server);
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  sample();
  const sampler = setInterval(sample, 5);
  const t0 = performance.now();
  const { snapshot, gaps } = await reader.readSnapshot();
  const t1 = performance.now();
  const { findings, errors } = runDetectors(snapshot, SETTINGS, Date.now());
  const groups = groupByOwner(findings);
  const t2 = performance.now();
  clearInterval(sampler);
  sample();
  const listsAfter = await apiserverListCount(admin, cluster.server);
  global.gc?.();
  const retainedHeap = process.memoryUsage().heapUsed - heapBefore;
  if (errors.length > 0) throw new Error(`detector errors: ${JSON.stringify(errors)}`);
  const requestPaths: Record<string, number> = {};
  for (const r of kc.requests) requestPaths[r] = (requestPaths[r] ?? 0) + 1;
  return {
    readMs: t1 - t0,
    detectMs: t2 - t1,
    peakRssMiB: peakRss / MiB,
    peakHeapMiB: peakHeap / MiB,
    retainedHeapMiB: retainedHeap / MiB,
    requests: kc.requests.length,
    requestPaths,
    apiserverLists: listsAfter - listsBefore,
    pods: snapshot.pods?.length ?? 0,
    events: snapshot.events?.length ?? 0,
    findings: findings.length,
    groups: groups.length,
    gaps: [...gaps],
    // Measured before the snapshot is dropped; keeps it alive for the retained-heap figure above.
    snapshotJsonMiB: Buffer.byteLength(JSON.stringify(snapshot)) / MiB,
  };
}

/** What holding the raw pod pages would keep (what the page-by-page mapping avoids). */
async function rawPodListHeap(kc: KubeConfig): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const pages: V1PodList[] = [];
  let token: string | undefined;
  do {
    const page = await core.listPodForAllNamespaces({ limit: 500, _continue: token });
    pages.push(page);
    token = page.metadata?._continue || undefined;
  } while (token);
  global.gc?.();
  const kept = process.memoryUsage().heapUsed - before;
  if (pages.length === 0) throw new Error('no pages');
  return kept / MiB;
}

async function measureInThisProcess(): Promise<void> {
  const cluster = currentCluster();
  const admin = loadKubeConfig(cluster.adminKubeconfigPath);
  const kc = new CountingKubeConfig();
  kc.loadFromFile(cluster.healerKubeconfigPath);
  global.gc?.();
  const baseline = process.memoryUsage();
  const cold = await scanOnce(cluster, admin, kc);
  const warm: ScanFigures[] = [];
  const rawListMs: number[] = [];
  await rawListOnce(kc); // its first run warms what the scan's cold run warmed
  for (let i = 0; i < WARM_RUNS; i++) {
    rawListMs.push(await rawListOnce(kc));
    warm.push(await scanOnce(cluster, admin, kc));
  }
  const figures: ProcessFigures = {
    baselineRssMiB: baseline.rss / MiB,
    baselineHeapMiB: baseline.heapUsed / MiB,
    cold,
    warm,
    rawListMs,
    rawPodListHeapMiB: await rawPodListHeap(kc),
  };
  console.log(`${RESULT_PREFIX}${JSON.stringify(figures)}`);
}

function measureInChild(cluster: ClusterInfo): Promise<ProcessFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--measure'], {
      cwd: REPO_ROOT,
      env: { ...process.env, [CLUSTER_INFO_ENV]: cluster.infoPath },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) reject(new Error(`measuring process exited ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ProcessFigures);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The kubectl baseline (a separate process, as an operator would run it)

interface KubectlFigures {
  ms: number[];
  peakRssMiB: number[];
}

/** `kubectl get` of the same kinds, as JSON, pages of 500, with the healer's identity; built like the other binaries. */
function kubectlBaseline(cluster: ClusterInfo, runs: number): KubectlFigures | string {
  const found = spawnSync('bash', [`${REPO_ROOT}/scripts/k8s-binaries.sh`, '--kubectl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = found.stdout.trim().split('\n').at(-1);
  if (found.status !== 0 || !dir) return `kubectl could not be built (exit ${found.status})`;
  const kubectl = `${dir}/kubectl`;
  const common = ['--kubeconfig', cluster.healerKubeconfigPath, '-A', '-o', 'json', '--chunk-size=500'];
  // Two invocations: the scan reads only Warning events, and a field selector would apply to every kind.
  const commands = [
    ['get', 'pods,deployments,replicasets,jobs,cronjobs,statefulsets,daemonsets,nodes', ...common],
    ['get', 'events', '--field-selector', 'type=Warning', ...common],
  ];
  const figures: KubectlFigures = { ms: [], peakRssMiB: [] };
  for (let i = 0; i <= runs; i++) {
    let ms = 0;
    let peak = 0;
    for (const args of commands) {
      const t0 = performance.now();
      const out = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', kubectl, ...args], { encoding: 'utf8', maxBuffer: 1024 * MiB });
      ms += performance.now() - t0;
      if (out.status !== 0) return `kubectl failed: ${out.stderr.slice(-500)}`;
      peak = Math.max(peak, Number(/MAXRSS (\d+)/.exec(out.stderr)?.[1] ?? NaN) / 1024);
    }
    if (i === 0) continue; // the first run warms the file cache and the apiserver's
    figures.ms.push(ms);
    figures.peakRssMiB.push(peak);
  }
  return figures;
}

// ---------------------------------------------------------------------------------------------
// The cluster

async function createCluster(cp: ControlPlane): Promise<void> {
  await ensureNamespace(cp.adminKubeconfigPath, NAMESPACE);
  await createCrashLoopingDeployment({ namespace: NAMESPACE, name: 'app-0', replicas: REPLICAS, previousLog: 'connection refused', restartPeriodSeconds: 30, cluster: cp });
  for (let d = 1; d < DEPLOYMENTS; d++) {
    const name = `app-${d}`;
    await applyManifest(cp.adminKubeconfigPath, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...(d === 1 ? { nodeSelector: { 'healer-test/no-such-node': 'true' } } : {}),
            containers: [{ name: 'app', image: `registry.example.com/${name}:1.0.0` }],
          },
        },
      },
    });
  }
  const core = loadKubeConfig(cp.adminKubeconfigPath).makeApiClient(CoreV1Api);
  const want = DEPLOYMENTS * REPLICAS;
  const started = Date.now();
  let lastLine = '';
  await waitFor(async () => {
    let created = 0;
    let bound = 0;
    let settled = 0;
    let token: string | undefined;
    do {
      const page = await core.listNamespacedPod({ namespace: NAMESPACE, limit: 1000, _continue: token });
      for (const pod of page.items) {
        created++;
        if (pod.spec?.nodeName) bound++;
        // Settled: Running (kwok reported it), or marked Unschedulable by the scheduler.
        if (pod.status?.phase === 'Running' || pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')) settled++;
      }
      token = page.metadata?._continue || undefined;
    } while (token);
    const line = `pods: ${created}/${want} created, ${bound} bound, ${settled} settled (${Math.round((Date.now() - started) / 1000)} s)`;
    if (line !== lastLine) say(line);
    lastLine = line;
    return settled === want;
  }, { what: `${want} settled pods`, timeoutMs: 30 * 60_000, intervalMs: 5_000 });
}

// ---------------------------------------------------------------------------------------------
// Report

/** The figures as markdown lines. */
function scanTable(results: ProcessFigures[], kubectl: KubectlFigures | string): string[] {
  const lines: string[] = [];
  const out = (line: string) => lines.push(line);
  const cold = results.map((r) => r.cold);
  const warm = results.flatMap((r) => r.warm);
  const all = [...cold, ...warm];
  const first = cold[0];
  if (!first) return lines;
  const range = (values: number[], digits = 1) => `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
  out('');
  out(`| what | cold scan, fresh process (${cold.length} runs) | warm scans (${warm.length} runs) |`);
  out('| --- | --- | --- |');
  out(`| readSnapshot wall time | ${range(cold.map((r) => r.readMs), 0)} ms | ${range(warm.map((r) => r.readMs), 0)} ms |`);
  out(`| detectors + grouping | ${range(cold.map((r) => r.detectMs))} ms | ${range(warm.map((r) => r.detectMs))} ms |`);
  out(`| peak RSS | ${range(cold.map((r) => r.peakRssMiB))} MiB | ${range(warm.map((r) => r.peakRssMiB))} MiB |`);
  out(`| peak heap used | ${range(cold.map((r) => r.peakHeapMiB))} MiB | ${range(warm.map((r) => r.peakHeapMiB))} MiB |`);
  out(`| heap kept by the finished snapshot (after GC) | ${range(cold.map((r) => r.retainedHeapMiB))} MiB | ${range(warm.map((r) => r.retainedHeapMiB))} MiB |`);
  out(`| API requests (client count) | ${range(cold.map((r) => r.requests), 0)} | ${range(warm.map((r) => r.requests), 0)} |`);
  out(`| apiserver LIST requests during the scan (all clients) | ${range(cold.map((r) => r.apiserverLists), 0)} | ${range(warm.map((r) => r.apiserverLists), 0)} |`);
  out('');
  const rawMs = results.flatMap((r) => r.rawListMs);
  const scanMs = median(warm.map((r) => r.readMs));
  out('Baselines on the same cluster at the same moment (warm):');
  out('');
  out('| reader | wall time | peak RSS | the scan\'s read against it |');
  out('| --- | --- | --- | --- |');
  out(`| the scan's readSnapshot (${warm.length} runs) | ${range(warm.map((r) => r.readMs), 0)} ms | ${range(warm.map((r) => r.peakRssMiB))} MiB | 1.00x |`);
  out(`| raw paginated lists of the same nine kinds, same client, same process, alternated with the scans (${rawMs.length} runs) | ${range(rawMs, 0)} ms | (same process) | ${fmt(scanMs / median(rawMs), 2)}x |`);
  if (typeof kubectl === 'string') out(`| kubectl get … -A -o json | skipped: ${kubectl} | | |`);
  else out(`| \`kubectl get <the same kinds> -A -o json --chunk-size=500\` (a process each, ${kubectl.ms.length} runs) | ${range(kubectl.ms, 0)} ms | ${range(kubectl.peakRssMiB)} MiB | ${fmt(scanMs / median(kubectl.ms), 2)}x |`);
  out('');
  out(`process baseline before the first scan: RSS ${range(results.map((r) => r.baselineRssMiB))} MiB, heap ${range(results.map((r) => r.baselineHeapMiB))} MiB`);
  out(`raw pod list held whole (for comparison): ${range(results.map((r) => r.rawPodListHeapMiB))} MiB of heap`);
  out(`snapshot: ${first.pods} pods, ${first.events} events kept, ${fmt(first.snapshotJsonMiB, 2)} MiB as JSON; ${first.findings} findings in ${first.groups} groups; gaps: ${first.gaps.length === 0 ? 'none' : first.gaps.join('; ')}`);
  out(`requests of one scan: ${Object.entries(first.requestPaths).map(([path, n]) => `${path} x${n}`).join(', ')}`);
  if (all.some((r) => r.requests !== first.requests)) out('note: the request count varied between scans');
  return lines;
}

export async function benchScan(): Promise<string[]> {
  say(`scan bench: ${DEPLOYMENTS} Deployments x ${REPLICAS} replicas; ${PROCESSES} fresh processes, 1 cold + ${WARM_RUNS} warm scans each; node ${process.version}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 1024 / MiB, 0)} GiB`);
  const cp = await startControlPlane({ nodes: 1, log: (l) => say(`control plane: ${l}`) });
  try {
    const created = Date.now();
    await createCluster(cp);
    say(`cluster ready in ${Math.round((Date.now() - created) / 1000)} s`);
    const results: ProcessFigures[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      const r = await measureInChild(cp);
      results.push(r);
      say(`process ${i + 1}: cold read ${fmt(r.cold.readMs, 0)} ms, detect ${fmt(r.cold.detectMs)} ms, ${r.cold.requests} requests (apiserver LISTs +${r.cold.apiserverLists}), peak RSS ${fmt(r.cold.peakRssMiB)} MiB (baseline ${fmt(r.baselineRssMiB)}), peak heap ${fmt(r.cold.peakHeapMiB)} MiB; warm reads ${r.warm.map((w) => fmt(w.readMs, 0)).join('/')} ms`);
    }
    const lines = [`${DEPLOYMENTS} Deployments x ${REPLICAS} replicas on one kwok node; ${PROCESSES} fresh processes, 1 cold + ${WARM_RUNS} warm scans each.`, ...scanTable(results, kubectlBaseline(cp, WARM_RUNS))];
    console.log(lines.join('\n'));
    return lines;
  } finally {
    await cp.stop();
  }
}

// Run directly (npm run bench:scan); bench/run.ts imports benchScan for --scan.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.HEALER_LOG_LEVEL = 'error';
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:scan)');
  if (process.argv.includes('--measure')) await measureInThisProcess();
  else await benchScan();
}
