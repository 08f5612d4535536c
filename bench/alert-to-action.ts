/**
 * `npm run bench:latency` (or `npm run bench -- --latency`, BENCH_LATENCY=1): alert to action on
 * the local stack with a zero-latency model. Not a test: it prints figures and asserts no time.
 *
 * What runs (all real, all on 127.0.0.1, all started here and stopped by their handles):
 *   - a private control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok);
 *   - DynamoDB Local (state and audit tables) and moto (the incident queue, the on-call topic);
 *   - the real Alertmanager (test/support/alertmanager.ts: group_by alertname/namespace/pod,
 *     group_wait 0s), delivering to
 *   - the webhook Lambda handler (functions/alertmanager-webhook.ts) behind the local HTTP API,
 *     which deduplicates, enqueues on SQS (moto) and answers 202;
 *   - the worker Lambda handler (functions/remediate.ts) fed by lib/local/sqs-poller.ts as Lambda's
 *     event source mapping feeds it in serverless.yml: batches of 2, no batching window, at most
 *     WORKERS pollers at once (the stack's remediateConcurrency, 5 by default);
 *   - diagnosis by the runbook (no model key): the zero-latency model. The scripted Messages-API
 *     server would add the SDK's HTTP round trip and the tool loop; the runbook is what runs when
 *     the model is not asked, so this measures the healer's own path and nothing of a model.
 * Each incident is a distinct Deployment whose one pod kwok reports in CrashLoopBackOff with a
 * connection-refused log (the runbook proposes evict-pod), so no cooldown, owner claim or circuit
 * breaker joins two incidents. The action budgets per namespace and per cluster are raised through
 * the project's own settings (HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR=10000,
 * HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR=100000): with the defaults (3 and 10) the eleventh
 * incident would be paged, not acted on. Everything else is the default, verification included
 * (a delayed re-check comes back on the same queue 60 s later and shares the workers, as on AWS).
 *
 * The clock (Date.now() of this one process, which also hosts the webhook and the workers, so no
 * clocks are compared across machines):
 *   start: just before the alert is POSTed to Alertmanager's /api/v2/alerts, as Prometheus does;
 *          a second figure starts when the webhook receives Alertmanager's POST (group_wait is 0s
 *          and every alert is its own group, so the Alertmanager hop is reported, not hidden);
 *   stop:  when a watch on the apiserver (admin identity, this process) first shows the pod with
 *          a deletionTimestamp: the eviction the apiserver accepted and committed, seen from the
 *          outside rather than as the healer reports it. The healer's own audit `action` entry
 *          (written when the eviction call returned) is compared with it.
 * Stages, from the same clock and the audit entries' `at` (ms): Alertmanager → webhook handler →
 * queue (enqueued → the worker's batch received) → lock (and the batch's earlier record) →
 * placement, owner claim and evidence → diagnosis → live re-read and policy → cooldown, budget,
 * write gate, server-side dry run and eviction → seen by the watch.
 *
 * Phases: warm-up (not counted: cold module load, first clients); one at a time; IN_FLIGHT at once
 * with WORKERS pollers; IN_FLIGHT at once with as many pollers as incidents in flight. "In flight"
 * is a closed loop: each of IN_FLIGHT lanes posts its next alert when its previous one's eviction
 * was seen. Sizes: BENCH_LATENCY_SEQUENTIAL (100), BENCH_LATENCY_CONCURRENT (200 per concurrent
 * phase), BENCH_LATENCY_IN_FLIGHT (20), BENCH_LATENCY_WORKERS (5), BENCH_LATENCY_WARMUP (5).
 */
import { runAsMain, sectionFromChild } from './child.js';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import type { Context, SQSEvent } from 'aws-lambda';
import {
  BEHAVIOUR_LABEL,
  applyManifest,
  ensureNamespace,
  loadKubeConfig,
  serveNamespaceLogs,
  startControlPlane,
  waitFor,
  type ControlPlane,
} from '../lib/local/control-plane.js';
import { startHealerEnv, type HealerEnv } from '../test/support/healer-env.js';
import { startAlertmanager, type Alertmanager } from '../test/support/alertmanager.js';
import { CONNECTION_REFUSED_LOG, isCrashLooping } from '../test/support/crashloop-incidents.js';
import { serveHttpApi } from '../lib/local/http-api.js';
import { pollQueue } from '../lib/local/sqs-poller.js';
import { parseQueueMessage } from '../lib/pipeline/queue-message.js';
import { DynamoAuditLog } from '../lib/adapters/dynamo-audit-log.js';
import { incidentId } from '../lib/intake/incidents.js';
import type { AuditEntry } from '../lib/domain/types.js';
import { percentile } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_LATENCY_SEQUENTIAL ?? 100);
const CONCURRENT = Number(process.env.BENCH_LATENCY_CONCURRENT ?? 200);
const IN_FLIGHT = Number(process.env.BENCH_LATENCY_IN_FLIGHT ?? 20);
const WORKERS = Number(process.env.BENCH_LATENCY_WORKERS ?? 5);
const WARMUP = Number(process.env.BENCH_LATENCY_WARMUP ?? 5);
const NAMESPACES = 10;
const CONTAINER = 'app';
const BENCH_LABEL = 'healer-bench';
const INCIDENT_TIMEOUT_MS = 60_000;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const log = (line: string) => console.error(`[latency ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Workload {
  readonly namespace: string;
  readonly deployment: string;
  readonly pod: string;
  readonly uid: string;
  readonly incidentId: string;
}

/** Everything this process saw of one incident, in Date.now() milliseconds. */
interface Timing {
  posted: number;
  received?: number;
  enqueued?: number;
  dequeued?: number;
  evicted?: number;
}

interface Phase {
  readonly name: string;
  readonly incidents: number;
  readonly inFlight: number;
  readonly workers: number;
  readonly counted: boolean;
}

interface PhaseResult {
  readonly phase: Phase;
  readonly wallMs: number;
  readonly done: { w: Workload; t: Timing; audit: AuditEntry[] }[];
  readonly failed: { w: Workload; why: string }[];
  readonly loopDelayP99Ms: number;
  readonly loadAfter: number;
  /** CPU seconds used during the phase, by component (this process and what it started). */
  readonly cpu: Map<string, number>;
}

// ---------------------------------------------------------------------------------------------
// The cluster: one crash-looping pod per Deployment

async function createWorkloads(cp: ControlPlane, count: number, run: string): Promise<Workload[]> {
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `lat-${run}-${i}`);
  for (const namespace of namespaces) {
    await ensureNamespace(cp.adminKubeconfigPath, namespace);
    await serveNamespaceLogs({ namespace, name: 'bench', container: CONTAINER, current: '', previous: CONNECTION_REFUSED_LOG, cluster: cp });
  }
  // Pods created after this run normally (the dependency came back), so the replacement of an
  // evicted pod is healthy; the originals are all created well before it.
  const until = new Date(Date.now() + 15 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const names = Array.from({ length: count }, (_, i) => ({ namespace: namespaces[i % NAMESPACES] ?? '', deployment: `w${i}` }));
  let next = 0;
  const apply = async () => {
    while (next < names.length) {
      const { namespace, deployment } = names[next++] ?? { namespace: '', deployment: '' };
      const labels = { app: deployment, [BENCH_LABEL]: 'latency' };
      await applyManifest(cp.adminKubeconfigPath, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: deployment, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: deployment } },
          template: {
            metadata: {
              labels: { ...labels, [BEHAVIOUR_LABEL]: 'crashloop' },
              // One restart an hour: the pods stay in CrashLoopBackOff without patching their status every 10 s.
              annotations: { 'healer-test/crashloop-period': '1h', 'healer-test/crashloop-until': until },
            },
            spec: { containers: [{ name: CONTAINER, image: 'registry.example.com/orders:1.4.2' }] },
          },
        },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, apply));
  const core = loadKubeConfig(cp.adminKubeconfigPath).makeApiClient(CoreV1Api);
  let last = '';
  const pods = await waitFor(async () => {
    const items: V1Pod[] = [];
    let token: string | undefined;
    do {
      const page = await core.listPodForAllNamespaces({ labelSelector: `${BENCH_LABEL}=latency`, limit: 500, _continue: token });
      items.push(...page.items);
      token = page.metadata?._continue || undefined;
    } while (token);
    const looping = items.filter(isCrashLooping);
    const line = `${items.length}/${count} pods, ${looping.length} crash-looping`;
    if (line !== last) log(line);
    last = line;
    return looping.length === count ? looping : undefined;
  }, { what: `${count} crash-looping pods`, timeoutMs: 10 * 60_000, intervalMs: 2_000 });
  return pods.map((p) => {
    const namespace = p.metadata?.namespace ?? '';
    const pod = p.metadata?.name ?? '';
    return { namespace, deployment: p.metadata?.labels?.['app'] ?? '', pod, uid: p.metadata?.uid ?? '', incidentId: incidentId('local', namespace, 'Pod', pod, 'CrashLoopBackOff') };
  }).sort((a, b) => Number(a.deployment.slice(1)) - Number(b.deployment.slice(1)));
}

/** First sight of each pod (by uid) with a deletionTimestamp, from a watch on the apiserver. */
function watchEvictions(cp: ControlPlane): { seen: Map<string, number>; waitFor(uid: string, timeoutMs: number): Promise<number | undefined>; restarts(): number; stop(): void } {
  const seen = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  let abort: AbortController | undefined;
  let stopped = false;
  let restarts = 0;
  const start = () => {
    void new Watch(loadKubeConfig(cp.adminKubeconfigPath)).watch('/api/v1/pods', { labelSelector: `${BENCH_LABEL}=latency` }, (_type, obj: V1Pod) => {
      const uid = obj.metadata?.uid;
      if (!uid || !obj.metadata?.deletionTimestamp || seen.has(uid)) return;
      const at = Date.now();
      seen.set(uid, at);
      waiters.get(uid)?.(at);
    }, () => {
      if (stopped) return;
      restarts++;
      setTimeout(start, 100);
    }).then((a) => (abort = a), () => {
      if (!stopped) setTimeout(start, 500);
    });
  };
  start();
  return {
    seen,
    waitFor(uid, timeoutMs) {
      const at = seen.get(uid);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(uid);
          resolve(undefined);
        }, timeoutMs);
        waiters.set(uid, (t) => {
          clearTimeout(timer);
          waiters.delete(uid);
          resolve(t);
        });
      });
    },
    restarts: () => restarts,
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
}

/**
 * CPU seconds (user + system) so far of this process and every process it started, by name: the
 * apiserver, etcd, kwok, DynamoDB Local (java), moto (python), Alertmanager, this Node process.
 * Read from /proc (Linux only; elsewhere empty).
 */
function cpuByComponent(): Map<string, number> {
  const out = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  const procs = new Map<number, { ppid: number; name: string; seconds: number }>();
  const tick = 100; // USER_HZ on Linux
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After the name: state(0) ppid(1) ... utime(11) stime(12)
      procs.set(Number(pid), { ppid: Number(fields[1]), name, seconds: (Number(fields[11]) + Number(fields[12])) / tick });
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Set<number>([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of mine) {
    const p = procs.get(pid);
    if (!p) continue;
    const name = pid === process.pid ? 'bench process (webhook, workers, watch)' : p.name === 'java' ? 'DynamoDB Local (java)' : /python|moto/.test(p.name) ? 'moto (python)' : /alertmanager/.test(p.name) ? 'Alertmanager' : p.name;
    out.set(name, (out.get(name) ?? 0) + p.seconds);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Driving incidents

function alertFor(w: Workload) {
  return {
    labels: { alertname: 'KubePodCrashLooping', namespace: w.namespace, pod: w.pod, container: CONTAINER, reason: 'CrashLoopBackOff', severity: 'warning', job: 'kube-state-metrics' },
    annotations: { summary: 'Pod is crash looping.', description: `Pod ${w.namespace}/${w.pod} (${CONTAINER}) is in waiting state (reason: "CrashLoopBackOff").` },
    startsAt: new Date().toISOString(),
  };
}

async function runPhase(
  phase: Phase,
  workloads: readonly Workload[],
  parts: { env: HealerEnv; alertmanager: Alertmanager; evictions: ReturnType<typeof watchEvictions>; timings: Map<string, Timing>; worker: (event: SQSEvent, context: Context) => Promise<unknown> },
): Promise<PhaseResult> {
  const { env, alertmanager, evictions, timings } = parts;
  const pollers = Array.from({ length: phase.workers }, () => pollQueue({
    client: env.moto.sqs(),
    queueUrl: env.queueUrl,
    // What serverless.yml sets on the event source mapping: batches of 2, no batching window.
    batchSize: 2,
    waitSeconds: 2,
    visibilityTimeoutSeconds: 120,
    handler: async (event, context) => {
      const at = Date.now();
      for (const record of event.Records) {
        const message = parseQueueMessage(record.body);
        const t = message.kind === 'incident' ? timings.get(message.incident.id) : undefined;
        if (t && t.dequeued === undefined) t.dequeued = at;
      }
      return (await parts.worker(event, context)) as Awaited<ReturnType<Parameters<typeof pollQueue>[0]['handler']>>;
    },
    onError: (error) => log(`poller: ${String(error)}`),
  }));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const done: PhaseResult['done'] = [];
  const failed: PhaseResult['failed'] = [];
  let next = 0;
  const cpuBefore = cpuByComponent();
  const started = Date.now();
  const lane = async () => {
    while (next < workloads.length) {
      const w = workloads[next++];
      if (!w) return;
      const t: Timing = { posted: Date.now() };
      timings.set(w.incidentId, t);
      try {
        await alertmanager.postAlerts([alertFor(w)]);
      } catch (error) {
        failed.push({ w, why: `Alertmanager refused the alert: ${String(error)}` });
        continue;
      }
      const evicted = await evictions.waitFor(w.uid, INCIDENT_TIMEOUT_MS);
      if (evicted === undefined) failed.push({ w, why: `no eviction seen within ${INCIDENT_TIMEOUT_MS / 1000} s` });
      else t.evicted = evicted;
    }
  };
  await Promise.all(Array.from({ length: phase.inFlight }, lane));
  const wallMs = Date.now() - started;
  const cpu = new Map([...cpuByComponent()].map(([name, seconds]) => [name, seconds - (cpuBefore.get(name) ?? 0)]));
  loop.disable();
  await Promise.all(pollers.map((p) => p.stop()));
  // Untimed: the audit trail of each incident, for the stages and the outcome of failures.
  const audit = new DynamoAuditLog({ tableName: env.tables.audit, client: env.dynamo.client() });
  const timedOut = new Set(failed.map((f) => f.w.incidentId));
  for (const w of workloads) {
    const t = timings.get(w.incidentId);
    if (!t || timedOut.has(w.incidentId)) continue;
    done.push({ w, t, audit: await audit.listForIncident(w.incidentId) });
  }
  for (const f of failed) {
    const entries = await audit.listForIncident(f.w.incidentId).catch(() => []);
    const outcome = entries.find((e) => e.step === 'outcome')?.outcome;
    if (outcome) f.why += `; outcome ${outcome}`;
  }
  return { phase, wallMs, done, failed, loopDelayP99Ms: loop.percentile(99) / 1e6, loadAfter: os.loadavg()[0] ?? 0, cpu };
}

// ---------------------------------------------------------------------------------------------
// Report

const atOf = (entries: readonly AuditEntry[], step: AuditEntry['step'], pick: (e: AuditEntry) => boolean = () => true) => {
  const e = entries.find((x) => x.step === step && pick(x));
  return e ? Date.parse(e.at) : undefined;
};

interface Stage {
  readonly name: string;
  readonly of: (t: Timing, audit: readonly AuditEntry[]) => number | undefined;
}

const between = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
const actedAt = (audit: readonly AuditEntry[]) => atOf(audit, 'action', (e) => e.detail['gate'] === 'act' && e.detail['allowed'] === true);

const STAGES: readonly Stage[] = [
  { name: 'Alertmanager (API POST → webhook receives)', of: (t) => between(t.posted, t.received) },
  { name: 'webhook handler (dedup write, SQS send, 202)', of: (t) => between(t.received, t.enqueued) },
  { name: 'queue (sent → worker batch received)', of: (t) => between(t.enqueued, t.dequeued) },
  { name: 'lock (+ the batch\'s earlier record)', of: (t, a) => between(t.dequeued, atOf(a, 'intake')) },
  { name: 'placement, owner claim, evidence', of: (_t, a) => between(atOf(a, 'intake'), atOf(a, 'evidence')) },
  { name: 'diagnosis (runbook)', of: (_t, a) => between(atOf(a, 'evidence'), atOf(a, 'diagnosis')) },
  { name: 'live re-read, policy reads, decision', of: (_t, a) => between(atOf(a, 'diagnosis'), atOf(a, 'decision')) },
  { name: 'cooldown, budget, write gate, dry run, eviction', of: (_t, a) => between(atOf(a, 'decision'), actedAt(a)) },
  { name: 'audited → seen by the watch (may be < 0)', of: (t, a) => between(actedAt(a), t.evicted) },
];

const dist = (values: readonly number[]) =>
  `${fmt(percentile(values, 50))} | ${fmt(percentile(values, 95))} | ${fmt(percentile(values, 99))} | ${fmt(values.length ? Math.max(...values) : NaN)}`;

function report(results: readonly PhaseResult[], setup: string): string[] {
  const lines: string[] = [setup, ''];
  const counted = results.filter((r) => r.phase.counted);
  lines.push('| phase | incidents acted (failed) | wall time | alert → eviction p50 / p95 / p99 / max ms | webhook → eviction p50 / p95 / p99 / max ms | event-loop delay p99 | load after |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of counted) {
    const total = r.done.flatMap(({ t }) => (t.evicted === undefined ? [] : [t.evicted - t.posted]));
    const fromWebhook = r.done.flatMap(({ t }) => (t.evicted === undefined || t.received === undefined ? [] : [t.evicted - t.received]));
    lines.push(`| ${r.phase.name} | ${r.done.length} (${r.failed.length}) | ${fmt(r.wallMs / 1000, 1)} s | ${dist(total).replaceAll(' | ', ' / ')} | ${dist(fromWebhook).replaceAll(' | ', ' / ')} | ${fmt(r.loopDelayP99Ms, 1)} ms | ${fmt(r.loadAfter, 2)} |`);
  }
  lines.push('', 'Where the time goes, per stage (p50 / p95 / p99 ms):', '');
  lines.push(`| stage | ${counted.map((r) => r.phase.name).join(' | ')} |`);
  lines.push(`| --- | ${counted.map(() => '---').join(' | ')} |`);
  for (const stage of STAGES) {
    const cells = counted.map((r) => {
      const values = r.done.flatMap(({ t, audit }) => {
        const v = stage.of(t, audit);
        return v === undefined ? [] : [v];
      });
      return values.length === 0 ? '–' : `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 95))} / ${fmt(percentile(values, 99))}`;
    });
    lines.push(`| ${stage.name} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'CPU used during each phase, by process (ms of CPU per incident; the machine has ' + os.cpus().length + ' cores, shared with other work):', '');
  const names = [...new Set(counted.flatMap((r) => [...r.cpu].filter(([, s]) => s > 0.05).map(([n]) => n)))].sort();
  lines.push(`| process | ${counted.map((r) => r.phase.name).join(' | ')} |`);
  lines.push(`| --- | ${counted.map(() => '---').join(' | ')} |`);
  for (const name of names) lines.push(`| ${name} | ${counted.map((r) => fmt(((r.cpu.get(name) ?? 0) * 1000) / Math.max(1, r.done.length))).join(' | ')} |`);
  lines.push(`| all of them, as a share of ${os.cpus().length} cores over the phase | ${counted.map((r) => `${fmt((100 * [...r.cpu.values()].reduce((a, b) => a + b, 0)) / (os.cpus().length * r.wallMs / 1000))} %`).join(' | ')} |`);
  const failures = counted.flatMap((r) => r.failed.map((f) => `${r.phase.name}: ${f.w.namespace}/${f.w.pod}: ${f.why}`));
  if (failures.length > 0) lines.push('', `Failed (${failures.length}): ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? '; …' : ''}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------

/** The bench in this process; the handlers load their configuration at import, so it must be a fresh one. */
async function measureInThisProcess(): Promise<string[]> {
  const phases: Phase[] = [
    { name: 'warm-up', incidents: WARMUP, inFlight: 1, workers: WORKERS, counted: false },
    { name: `1 in flight, ${WORKERS} workers`, incidents: SEQUENTIAL, inFlight: 1, workers: WORKERS, counted: true },
    { name: `${IN_FLIGHT} in flight, ${WORKERS} workers`, incidents: CONCURRENT, inFlight: IN_FLIGHT, workers: WORKERS, counted: true },
  ];
  if (IN_FLIGHT !== WORKERS) phases.push({ name: `${IN_FLIGHT} in flight, ${IN_FLIGHT} workers`, incidents: CONCURRENT, inFlight: IN_FLIGHT, workers: IN_FLIGHT, counted: true });
  const total = phases.reduce((n, p) => n + p.incidents, 0);
  log(`alert-to-action: ${total} incidents (${phases.map((p) => `${p.name}: ${p.incidents}`).join('; ')}); load ${fmt(os.loadavg()[0] ?? 0, 2)}`);
  const stops: (() => Promise<void>)[] = [];
  try {
    const setupStarted = Date.now();
    const cp = await startControlPlane({ nodes: 1, register: false, log: (l) => log(`control plane: ${l}`) });
    stops.unshift(() => cp.stop());
    const env = await startHealerEnv({
      KUBECONFIG: cp.healerKubeconfigPath,
      HEALER_DRY_RUN: 'false',
      HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR: '10000',
      HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR: '100000',
      HEALER_LOG_LEVEL: 'error',
    });
    stops.unshift(() => env.stop());
    delete process.env.ANTHROPIC_API_KEY;
    delete process.env.HEALER_ANTHROPIC_KEY_PARAM;
    const timings = new Map<string, Timing>();
    const webhook = await import('../functions/alertmanager-webhook.js');
    const worker = await import('../functions/remediate.js');
    const server = await serveHttpApi({
      'POST /alerts': async (event, context) => {
        const received = Date.now();
        const body = JSON.parse(Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8')) as { alerts?: { status?: string; labels?: Record<string, string> }[] };
        const result = await webhook.handler(event, context);
        const enqueued = Date.now();
        for (const alert of body.alerts ?? []) {
          const labels = alert.labels ?? {};
          if (alert.status !== 'firing' || !labels['namespace'] || !labels['pod']) continue;
          const t = timings.get(incidentId('local', labels['namespace'], 'Pod', labels['pod'], 'CrashLoopBackOff'));
          if (t && t.received === undefined) Object.assign(t, { received, enqueued });
        }
        return result;
      },
    });
    stops.unshift(() => server.close());
    const alertmanager = await startAlertmanager({ webhookUrl: `${server.url}/alerts`, bearerToken: env.token, repeatInterval: '4h' });
    stops.unshift(() => alertmanager.stop());
    const run = Date.now().toString(36).slice(-4);
    const workloads = await createWorkloads(cp, total, run);
    const evictions = watchEvictions(cp);
    stops.unshift(() => Promise.resolve(evictions.stop()));
    await new Promise((r) => setTimeout(r, 2_000)); // the watch's initial list
    log(`setup: ${Math.round((Date.now() - setupStarted) / 1000)} s`);
    const results: PhaseResult[] = [];
    let offset = 0;
    for (const phase of phases) {
      const mine = workloads.slice(offset, offset + phase.incidents);
      offset += phase.incidents;
      const r = await runPhase(phase, mine, { env, alertmanager, evictions, timings, worker: worker.handler });
      results.push(r);
      const total = r.done.flatMap(({ t }) => (t.evicted === undefined ? [] : [t.evicted - t.posted]));
      log(`${phase.name}: ${r.done.length} acted, ${r.failed.length} failed in ${fmt(r.wallMs / 1000, 1)} s; alert → eviction p50 ${fmt(percentile(total, 50))} ms, p99 ${fmt(percentile(total, 99))} ms; load ${fmt(r.loadAfter, 2)}`);
      // Let the queue settle between phases (untimed): what is still in flight belongs to this phase.
      await waitFor(async () => (await env.queueDepth()) === 0 || undefined, { what: 'an empty queue', timeoutMs: 20_000 }).catch(() => undefined);
    }
    const setup = [
      `${total} incidents (${WARMUP} warm-up not counted), each a distinct Deployment whose pod crash-loops (kwok) on one node; real Alertmanager → webhook handler → SQS (moto) → worker handler (batches of 2, pollers as Lambda's event source mapping) → runbook diagnosis → policy → write gate → Eviction; DynamoDB Local; all in this process but the servers.`,
      `Clock: this process's Date.now(); start = the alert POSTed to Alertmanager's API (second figure: the webhook receiving Alertmanager's POST); stop = a watch on the apiserver first showing the pod's deletionTimestamp. Budgets raised (HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR=10000, …_CLUSTER_…=100000); watch restarts: ${evictions.restarts()}.`,
    ].join(' ');
    return report(results, setup);
  } finally {
    for (const stop of stops) await stop().catch((error: unknown) => log(`stop failed: ${String(error)}`));
  }
}

/** In a fresh process (bench/child.ts); bench/run.ts calls this. */
export function benchAlertToAction(): Promise<string[]> {
  return sectionFromChild(import.meta.url, 'alert-to-action');
}

await runAsMain(import.meta.url, 'alert-to-action', measureInThisProcess);
