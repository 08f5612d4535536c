/**
 * The alert storm through the model (`npm run bench:storm`, or `npm run bench -- --storm`):
 * 200 crash-looping pods over 4 Deployments with one root cause, every pod alerting. The worker,
 * wired as deployed (workerDeps: real SDK, DynamoDB Local, moto SNS, the scoped identity on a
 * local control plane), handles the 200 incidents 8 at a time, with Claude replaced by the local
 * Messages-API server (test/support/messages-api-server.ts: it counts tokens and simulates the
 * prompt cache). Baseline in the same run, on the same pods: one diagnosis per alert, the same
 * diagnoser asked once for each pod's own evidence, as an integration that investigates every
 * alert would. Counted: model requests, input / cache-write / cache-read / output tokens, cost at
 * the model's list price (lib/diagnose/cost.ts), pages. The scripted model answers at once, so
 * wall times are the healer's own work on a shared 2-core machine, not a model's latency.
 */
import { runAsMain, sectionFromChild } from './child.js';
import os from 'node:os';
import type { V1Pod } from '@kubernetes/client-node';
import { loadConfig } from '../lib/config/config.js';
import { costOf } from '../lib/diagnose/cost.js';
import { incidentId } from '../lib/intake/incidents.js';
import { remediate } from '../lib/pipeline/remediate.js';
import { mapWithConcurrency } from '../lib/util/concurrency.js';
import { workerDeps } from '../lib/wiring/worker.js';
import type { Incident } from '../lib/domain/types.js';
import { createCrashLoopingDeployment, listPods, startControlPlane, waitFor } from '../test/support/control-plane.js';
import { startHealerEnv } from '../test/support/healer-env.js';
import { startMessagesApiServer, steps, type RecordedRequest, type ScriptedStep } from '../test/support/messages-api-server.js';

const DEPLOYMENTS = 4;
const REPLICAS = 50;
const CONCURRENCY = 8;
const KEY = 'sk-ant-bench-storm';
const MODEL = 'claude-sonnet-5-5';

const log = (line: string) => process.stderr.write(`[storm] ${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The scripted model: a page-worthy verdict for whatever pod the prompt is about, at once. */
function respond(): ScriptedStep {
  return steps.verdict({
    summary: 'the pod cannot reach its Redis dependency',
    rootCause: 'previous container log: dial tcp 10.0.0.9:6379: connect: connection refused',
    category: 'config-error',
    confidence: 0.8,
    evidenceCited: ['previous log'],
    restartCanHelp: false,
    recommendation: 'page',
  });
}

interface Side {
  readonly name: string;
  readonly incidents: number;
  readonly diagnoses: number;
  readonly requests: number;
  readonly tokens: { inputTokens: number; outputTokens: number; cacheWriteTokens: number; cacheReadTokens: number };
  readonly costUsd: number;
  readonly pages: number;
  readonly wallMs: number;
}

function tokensOf(requests: readonly RecordedRequest[]): Side['tokens'] {
  const sum = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
  for (const r of requests) {
    if (!r.usage) continue;
    sum.inputTokens += r.usage.input_tokens;
    sum.outputTokens += r.usage.output_tokens;
    sum.cacheWriteTokens += r.usage.cache_creation_input_tokens;
    sum.cacheReadTokens += r.usage.cache_read_input_tokens;
  }
  return sum;
}

async function measure(): Promise<string[]> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const cp = await startControlPlane({ nodes: 1, register: false, log: (l) => log(`control plane: ${l}`) });
    stops.unshift(() => cp.stop());
    const server = await startMessagesApiServer({ apiKey: KEY, respond });
    stops.unshift(() => server.close());
    const env = await startHealerEnv({
      KUBECONFIG: cp.healerKubeconfigPath,
      HEALER_DRY_RUN: 'true',
      HEALER_LOG_LEVEL: 'error',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: server.baseURL,
      HEALER_MODEL: MODEL,
    });
    stops.unshift(() => env.stop());

    const namespace = `storm-${Date.now().toString(36)}`;
    const apps = await Promise.all(Array.from({ length: DEPLOYMENTS }, (_, i) =>
      createCrashLoopingDeployment({ cluster: cp, namespace, name: `svc-${i}`, replicas: REPLICAS, previousLog: 'dial tcp 10.0.0.9:6379: connect: connection refused', restartPeriodSeconds: 5 })));
    const pods = await waitFor(async () => {
      const all: V1Pod[] = [];
      for (const app of apps) all.push(...await listPods(cp.adminKubeconfigPath, namespace, app.selector));
      const crashing = all.filter((p) => (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
      return crashing.length === DEPLOYMENTS * REPLICAS ? crashing : undefined;
    }, { what: `${DEPLOYMENTS * REPLICAS} crash-looping pods`, timeoutMs: 300_000, intervalMs: 2_000 });
    log(`${pods.length} pods crash-looping; load ${os.loadavg()[0]?.toFixed(2)}`);

    // One KubePodCrashLooping incident per pod, as the webhook makes them.
    const incidents: Incident[] = pods.map((p) => ({
      id: incidentId('local', namespace, 'Pod', p.metadata?.name ?? '', 'CrashLoopBackOff'),
      cluster: 'local', source: 'alertmanager', symptom: 'CrashLoopBackOff', alertname: 'KubePodCrashLooping', severity: 'warning',
      subject: { kind: 'Pod', name: p.metadata?.name ?? '', namespace },
      labels: {}, annotations: {}, detectedAt: new Date().toISOString(),
    }));
    const config = loadConfig();
    const deps = await workerDeps(config);
    if (deps.degraded.length > 0) throw new Error(`worker deps degraded: ${deps.degraded.join('; ')}`);

    // The baseline first: its requests teach the server's prompt cache nothing the healer's would
    // not have learnt from its own first diagnosis (same system prompt and tools).
    server.reset();
    await env.inbox.receive(100, 500);
    let started = performance.now();
    let baselineDiagnoses = 0;
    await mapWithConcurrency(incidents, CONCURRENCY, async (incident) => {
      const evidence = await deps.reader.gatherEvidence(incident);
      const diagnosis = await deps.diagnoser.diagnose(incident, evidence);
      if (diagnosis.recommendation !== 'page') throw new Error(`baseline: unexpected diagnosis ${JSON.stringify(diagnosis)}`);
      baselineDiagnoses++;
    });
    const baselineMs = performance.now() - started;
    const baselineRequests = server.requests.filter((r) => r.status === 200);
    const baseline: Side = {
      name: 'one diagnosis per alert (baseline)', incidents: incidents.length, diagnoses: baselineDiagnoses, requests: baselineRequests.length,
      tokens: tokensOf(baselineRequests), costUsd: 0, pages: 0, wallMs: baselineMs,
    };

    server.reset();
    started = performance.now();
    const reports = await mapWithConcurrency(incidents, CONCURRENCY, (incident) => remediate(incident, deps));
    const healerMs = performance.now() - started;
    const healerRequests = server.requests.filter((r) => r.status === 200);
    const pages = await env.inbox.receive(DEPLOYMENTS + 10, 10_000);
    const healer: Side = {
      name: 'k8s-healer (grouped by owner)', incidents: incidents.length, diagnoses: reports.filter((r) => r.diagnosis !== undefined).length,
      requests: healerRequests.length, tokens: tokensOf(healerRequests), costUsd: 0, pages: pages.length, wallMs: healerMs,
    };
    const failed = server.requests.filter((r) => r.status !== 200);
    if (failed.length > 0) throw new Error(`${failed.length} model requests failed: ${failed[0]?.problems.join('; ')}`);
    const priced = (s: Side): Side => ({ ...s, costUsd: costOf(s.tokens, MODEL) ?? Number.NaN });
    return table(priced(healer), priced(baseline), reports.map((r) => r.outcome));
  } finally {
    for (const stop of stops) await stop().catch((error: unknown) => log(`stop: ${String(error)}`));
  }
}

function table(healer: Side, baseline: Side, outcomes: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  const row = (s: Side) => `| ${s.name} | ${s.incidents} | ${s.diagnoses} | ${s.requests} | ${fmt(s.tokens.inputTokens)} | ${fmt(s.tokens.cacheWriteTokens)} | ${fmt(s.tokens.cacheReadTokens)} | ${fmt(s.tokens.outputTokens)} | $${fmt(s.costUsd, 4)} | ${fmt(s.wallMs / 1000, 1)} s |`;
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${fmt(a / b, 3)}x`);
  return [
    `${DEPLOYMENTS} Deployments x ${REPLICAS} crash-looping pods (kwok), one root cause, one KubePodCrashLooping incident per pod; the worker as deployed (workerDeps: real SDK, runbook fallback, daily budget, DynamoDB Local, moto SNS, dry run), ${CONCURRENCY} at a time; Claude (${MODEL}, list price) replaced by the local Messages-API server, which answers each request at once with a verdict that pages and counts tokens and prompt-cache reads as the API documents. Baseline in the same run on the same pods: the same diagnoser asked once per alert with that pod's own evidence.`,
    '',
    '| side | alerts | diagnoses | model requests | input tokens | cache writes | cache reads | output tokens | cost | wall time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row(healer),
    row(baseline),
    '',
    `- healer against the baseline: model requests ${ratio(healer.requests, baseline.requests)}, input tokens (uncached + cache writes + reads) ${ratio(
      healer.tokens.inputTokens + healer.tokens.cacheWriteTokens + healer.tokens.cacheReadTokens,
      baseline.tokens.inputTokens + baseline.tokens.cacheWriteTokens + baseline.tokens.cacheReadTokens,
    )}, cost ${ratio(healer.costUsd, baseline.costUsd)}`,
    `- the healer's outcomes: ${[...counts].map(([o, n]) => `${o} ${n}`).join(', ')}; pages sent: ${healer.pages}`,
    `- load after: ${os.loadavg()[0]?.toFixed(2)} (2 cores, shared)`,
  ];
}

/** In a fresh process (bench/child.ts); bench/run.ts calls this. */
export function benchStorm(): Promise<string[]> {
  return sectionFromChild(import.meta.url, 'storm');
}

await runAsMain(import.meta.url, 'storm', measure);
