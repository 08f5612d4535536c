/**
 * `npm run bench`: measured figures, each beside a baseline measured in the same run, written as a
 * dated section at the top of BENCHMARKS.md (with the machine), and printed. Never asserts a time.
 *   1. cold start of every bundled function against a bundle of its SDKs alone (bench/cold-start.ts)
 *   2. redaction throughput on realistic log tails, and its scaling on hostile text (pure)
 *   3. policy decisions per second (pure)
 *   4. the EKS token: signing one against handing out the cached one
 *   5. the webhook Lambda handler on DynamoDB Local + moto SQS: latency per request for 1 and
 *      100 alerts, and heap growth over the run
 *   6. with --scan (or BENCH_SCAN=1): the scan of a large cluster (bench/scan.ts, several minutes;
 *      also `npm run bench:scan` on its own)
 *   7. with --holmes (or BENCH_HOLMES=1): HolmesGPT and the healer side by side on the same incidents
 *      (bench/holmes.ts; installs HolmesGPT into its own cached venv, skipped with the reason where
 *      Python or the package is missing; also `npm run bench:holmes` on its own)
 *   8. with --latency (or BENCH_LATENCY=1): alert to action, Alertmanager delivery to the eviction
 *      the apiserver accepted, one at a time and 20 in flight (bench/alert-to-action.ts, several
 *      minutes; also `npm run bench:latency` on its own)
 *   9. with --storm (or BENCH_STORM=1): the alert storm through the model, 200 pods over 4 owners,
 *      against one diagnosis per alert (bench/storm.ts; also `npm run bench:storm` on its own)
 * --no-write prints without touching BENCHMARKS.md.
 */
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { presignEksToken, EksTokenSource } from '../lib/adapters/eks-token.js';
import { benchColdStart, coldStartTable } from './cold-start.js';
import { machine, writeSection } from './report.js';
import { redact } from '../lib/evidence/redact.js';
import { decide, RULES, type PolicyContext } from '../lib/policy/policy.js';
import { loadConfig } from '../lib/config/config.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../test/fixtures/builders.js';
import { startHealerEnv } from '../test/support/healer-env.js';
import { localContext } from '../lib/local/http-api.js';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { benchScan } from './scan.js';
import { benchHolmes } from './holmes.js';
import { benchAlertToAction } from './alert-to-action.js';
import { benchStorm } from './storm.js';
import { percentile } from './stats.js';

const fmt = (n: number, digits = 2) => n.toFixed(digits);
/** The section's lines; each bench adds its own and says them as it goes. */
const section: string[] = [];
const say = (line: string) => {
  section.push(line);
  console.log(line);
};

function logTail(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(
      i % 10 === 0
        ? `2026-11-25T03:00:${String(i % 60).padStart(2, '0')}Z connecting postgres://app:s3cr3t-${i}@db:5432/orders token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop${i}`
        : `2026-11-25T03:00:${String(i % 60).padStart(2, '0')}Z request ${i} id=3f2b8c1e-9d4a-4b7e-8f21-6a5c0e9d1b23 path=/api/orders status=200 took=${i % 97}ms`,
    );
  }
  return out.join('\n');
}

function benchRedaction(): void {
  const text = logTail(200); // ~the evidence budget for one container (16 KiB)
  const bytes = Buffer.byteLength(text);
  for (let i = 0; i < 50; i++) redact(text); // warm-up
  const runs = 500;
  const start = performance.now();
  for (let i = 0; i < runs; i++) redact(text);
  const ms = performance.now() - start;
  say(`- redaction: ${fmt((bytes * runs) / 1024 / 1024 / (ms / 1000))} MiB/s on a ${bytes}-byte log tail (${fmt(ms / runs, 3)} ms each, ${runs} runs)`);
}

/**
 * Redaction scales linearly on hostile text: long runs of what each rule starts on (a key, a flag,
 * a PEM header, a URL, ...) that fail or succeed far later. Reports the worst ratio of the time for
 * 4x the text (128 KB against 32 KB): about 4 is linear, 16 would be quadratic. Measured here, not
 * asserted in a unit test (a shared machine's timing is no test).
 */
function benchRedactionScaling(): void {
  const triggers = [
    'password=', 'password: ', '"password":"', 'Authorization: ', 'x-api-key:[', '"X-Api-Key":["', 'key=', '-----BEGIN ', 'BEGIN RSA\n',
    '://', 'a:b/', 'a:b@', '--db-password ', '["--token","', '- --token\n- ', 'mysql -p', 'redis-cli -a ', 'curl -u a:', 'machine h password ',
    "PASSWORD '", '<password>', 'AUTH ', '- name: DB_PASSWORD\n  value: ', '"name":"TOKEN","value":"', '{', '[', 'Q~', 'Private-Lines: 9\n',
    '"a\\n', '"\\"', '\\\\\\"', 'password: |\n  ', '  value: |-\n    x\n', 'mc alias set ', 'PWD={', 'map[Authorization:[',
  ];
  const fillers = ['', 'x', ' ', '"', '\n', 'Xk2pQ9vL'];
  const best = (text: string) => {
    let ms = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      redact(text);
      ms = Math.min(ms, performance.now() - start);
    }
    return ms;
  };
  let worst = { ratio: 0, what: '' };
  for (const trigger of triggers) {
    for (const fill of fillers) {
      const unit = trigger + fill;
      const small = best(unit.repeat(Math.ceil(32_000 / unit.length)));
      const large = best(unit.repeat(Math.ceil(128_000 / unit.length)));
      const ratio = large / Math.max(small, 0.05);
      if (ratio > worst.ratio) worst = { ratio, what: JSON.stringify(unit) };
    }
  }
  say(`- redaction scaling (${triggers.length * fillers.length} hostile patterns, 128 KB vs 32 KB): worst ratio ${fmt(worst.ratio)} (${worst.what}); 4 is linear, 16 quadratic`);
}

function benchPolicy(): void {
  const incident = anIncident();
  const ctx: PolicyContext = {
    incident,
    evidence: evidenceFor(incident),
    diagnosis: anEvictDiagnosis(incident),
    settings: loadConfig({ HEALER_DRY_RUN: 'false', HEALER_DENIED_NAMESPACES: 'kube-system' }).settings,
    killSwitchEngaged: false,
    cooldownUntilMs: undefined,
    actionCounts: { namespace: 0, cluster: 0, workload: 0 },
    injectionMarkers: [],
    nowMs: Date.now(),
  };
  if (!decide(ctx).allowed) throw new Error('the policy bench must measure an allowed decision (every rule evaluated)');
  const runs = 200_000;
  const start = performance.now();
  for (let i = 0; i < runs; i++) decide(ctx);
  const ms = performance.now() - start;
  say(`- policy (${RULES.length} rules, allowed): ${fmt(runs / (ms / 1000), 0)} decisions/s (${fmt((ms * 1000) / runs, 2)} µs each)`);
}

async function benchWebhook(): Promise<void> {
  const env = await startHealerEnv();
  try {
    const { handler } = await import('../functions/alertmanager-webhook.js');
    const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/alertmanager/kube-pod-crashlooping.json', import.meta.url), 'utf8')) as { alerts: { labels: Record<string, string> }[] };
    const template = fixture.alerts[1]!;
    let seq = 0;
    const payload = (alerts: number) => JSON.stringify({
      ...fixture,
      alerts: Array.from({ length: alerts }, () => ({ ...template, labels: { ...template.labels, pod: `bench-${seq++}` } })),
    });
    const event = (body: string): APIGatewayProxyEventV2 => ({
      version: '2.0', routeKey: 'POST /alerts', rawPath: '/alerts', rawQueryString: '',
      headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' },
      requestContext: { accountId: '0', apiId: 'bench', domainName: 'local', domainPrefix: 'local', http: { method: 'POST', path: '/alerts', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: 'bench', routeKey: 'POST /alerts', stage: '$default', time: '', timeEpoch: 0 },
      body, isBase64Encoded: false,
    });
    const drain = async (queueUrl: string) => {
      for (;;) {
        const { Messages = [] } = await env.moto.sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) return;
        await env.moto.sqs().send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      }
    };
    for (const [alerts, requests] of [[1, 200], [100, 20]] as const) {
      for (let i = 0; i < 5; i++) await handler(event(payload(alerts)), localContext('bench', 10_000)); // warm-up
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const times: number[] = [];
      for (let i = 0; i < requests; i++) {
        // moto's SQS slows down as its queue grows (real SQS does not): drain it, untimed.
        await drain(env.queueUrl);
        const body = payload(alerts);
        const start = performance.now();
        const result = await handler(event(body), localContext('bench', 10_000));
        times.push(performance.now() - start);
        if (result.statusCode !== 202) throw new Error(`unexpected ${result.statusCode}: ${result.body}`);
      }
      global.gc?.();
      const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
      say(`- webhook handler, ${alerts} alert(s)/request: p50 ${fmt(percentile(times, 50))} ms, p95 ${fmt(percentile(times, 95))} ms, max ${fmt(Math.max(...times))} ms over ${requests} requests; heap growth ${fmt(heapGrowth)} MiB; rss ${fmt(process.memoryUsage().rss / 1024 / 1024, 0)} MiB`);
    }
  } finally {
    await env.stop();
  }
}

/** Signing a token (what a cold function pays once per 14 minutes) against the cached one (every request). */
async function benchEksToken(): Promise<void> {
  const credentials = { accessKeyId: 'ASIABENCHBENCHBENCH1', secretAccessKey: 'bench-secret', sessionToken: 'bench-session' };
  const sign = () => presignEksToken({ clusterName: 'bench', region: 'eu-west-1', credentials, signingDate: new Date() });
  for (let i = 0; i < 200; i++) await sign(); // warm-up
  const signRuns = 2_000;
  let start = performance.now();
  for (let i = 0; i < signRuns; i++) await sign();
  const signUs = ((performance.now() - start) * 1000) / signRuns;
  const source = new EksTokenSource({ clusterName: 'bench', region: 'eu-west-1', credentials: () => Promise.resolve(credentials), clock: { now: () => Date.now() } });
  await source.token();
  const cachedRuns = 200_000;
  start = performance.now();
  for (let i = 0; i < cachedRuns; i++) await source.token();
  const cachedUs = ((performance.now() - start) * 1000) / cachedRuns;
  say(`- EKS token: signing one ${fmt(signUs, 1)} µs (${signRuns} runs); the cached one ${fmt(cachedUs, 3)} µs per request (${cachedRuns} runs): ${fmt(signUs / cachedUs, 0)}x cheaper`);
}

process.env.HEALER_LOG_LEVEL = 'error';
const write = !process.argv.includes('--no-write');
const about = machine();
console.log(about);
const cold = await benchColdStart(undefined, (line) => console.error(line));
section.push('### Cold start against the SDK floor', '', ...coldStartTable(cold), '', '### Throughput and latency', '');
for (const line of coldStartTable(cold).slice(2)) console.log(line);
benchRedaction();
benchRedactionScaling();
benchPolicy();
await benchEksToken();
await benchWebhook();
if (process.argv.includes('--scan') || process.env.BENCH_SCAN === '1') section.push('', '### Scan of a large cluster', '', ...(await benchScan()));
if (process.argv.includes('--holmes') || process.env.BENCH_HOLMES === '1') section.push('', '### HolmesGPT side by side (diagnosis only; Holmes only reads)', '', ...(await benchHolmes()));
if (process.argv.includes('--latency') || process.env.BENCH_LATENCY === '1') section.push('', '### Alert to action', '', ...(await benchAlertToAction()));
if (process.argv.includes('--storm') || process.env.BENCH_STORM === '1') section.push('', '### The alert storm through the model', '', ...(await benchStorm()));
if (write) console.log(`written: ${writeSection(about, section)}`);
