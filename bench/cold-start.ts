/**
 * Cold start of every bundled function against its floor, measured in the same run
 * (`npm run bench:cold-start`, and part of `npm run bench`).
 *
 * Each function is bundled as serverless.yml bundles it (esbuild, ESM, minified, node22, the
 * createRequire banner). Its floor is a bundle of the SDKs that function's bundle contains (found in
 * esbuild's metafile: the AWS clients, the Kubernetes client, the Anthropic SDK), each imported and
 * one client constructed, and nothing else: what Lambda would load for the SDKs alone. Each sample
 * is a fresh Node process (this Node: the node@22 devDependency under npm) timed from its start to
 * the bundle loaded; the webhook also answers one unauthenticated request (401, no AWS call).
 * Samples alternate between function and floor so machine load hits both alike. Not Lambda's
 * initDuration: the ratio is what the figure means.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { median } from './stats.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS = ['alertmanager-webhook', 'scheduled-scan', 'remediate', 'approve', 'dead-letter'] as const;

/** The SDK packages a floor may contain, and how one client of each is made. */
const SDKS: Record<string, string> = {
  '@aws-sdk/client-dynamodb': "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; new DynamoDBClient({});",
  '@aws-sdk/client-sns': "import { SNSClient } from '@aws-sdk/client-sns'; new SNSClient({});",
  '@aws-sdk/client-sqs': "import { SQSClient } from '@aws-sdk/client-sqs'; new SQSClient({});",
  '@aws-sdk/client-ssm': "import { SSMClient } from '@aws-sdk/client-ssm'; new SSMClient({});",
  '@kubernetes/client-node': "import { KubeConfig, CoreV1Api } from '@kubernetes/client-node'; const kc = new KubeConfig(); kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' }); kc.makeApiClient(CoreV1Api);",
  '@anthropic-ai/sdk': "import Anthropic from '@anthropic-ai/sdk'; new Anthropic({ apiKey: 'x' });",
};

const BANNER = "import { createRequire as __healerCreateRequire } from 'node:module'; const require = __healerCreateRequire(import.meta.url);";

/** Bundles a file, or (for a floor) a source text resolved from the repository's root. */
async function bundle(entry: { file: string } | { source: string }, outfile: string): Promise<Metafile> {
  const input = 'file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.source, resolveDir: repoRoot, loader: 'js' as const } };
  const result = await build({
    ...input, outfile, bundle: true, minify: true, keepNames: true, format: 'esm', platform: 'node', target: 'node22',
    mainFields: ['module', 'main'], banner: { js: BANNER }, metafile: true, logLevel: 'error', absWorkingDir: repoRoot,
  });
  return result.metafile;
}

/** The SDK packages whose code is in a bundle: bytes in the output, not merely read and shaken off. */
export function sdksIn(metafile: Metafile): string[] {
  const kept = Object.values(metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path));
  return Object.keys(SDKS).filter((pkg) => kept.some((path) => path.includes(`node_modules/${pkg}/`)));
}

const PROBE = `
const { performance } = await import('node:perf_hooks');
const mod = await import(process.env.BUNDLE);
const loaded = performance.now();
let answered = loaded;
if (process.env.ANSWER === '1') {
  const ctx = { functionName: 'bench', awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000 };
  const res = await mod.handler({ headers: {}, body: '{}', isBase64Encoded: false, requestContext: { http: { method: 'POST' } } }, ctx);
  if (res.statusCode !== 401) throw new Error('unexpected ' + res.statusCode);
  answered = performance.now();
}
process.stderr.write(JSON.stringify({ loaded, answered }) + '\\n');
`;

/** ms from this fresh process's start to the bundle loaded (and answered, for the webhook). */
function sample(bundlePath: string, answer: boolean): number {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: {
      PATH: process.env.PATH, BUNDLE: pathToFileURL(bundlePath).href, ANSWER: answer ? '1' : '0', AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', HEALER_WEBHOOK_TOKEN: 'bench-token', HEALER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench',
    },
    encoding: 'utf8',
  });
  const line = out.stderr.trim().split('\n').filter((l) => l.startsWith('{"loaded"')).at(-1);
  if (out.status !== 0 || !line) throw new Error(`probe of ${bundlePath} failed: ${out.stderr.slice(-1500)}`);
  return (JSON.parse(line) as { answered: number }).answered;
}

export interface ColdStartRow {
  readonly fn: string;
  readonly sdks: readonly string[];
  readonly bytes: number;
  readonly floorBytes: number;
  readonly ms: number[];
  readonly floorMs: number[];
}

export async function benchColdStart(runs = Number(process.env.BENCH_COLD_RUNS ?? '11'), log: (line: string) => void = () => {}): Promise<ColdStartRow[]> {
  const work = mkdtempSync(join(tmpdir(), 'k8s-healer-cold-'));
  try {
    const rows: ColdStartRow[] = [];
    for (const fn of FUNCTIONS) {
      const out = join(work, `${fn}.mjs`);
      const sdks = sdksIn(await bundle({ file: join(repoRoot, 'functions', `${fn}.ts`) }, out));
      const floorOut = join(work, `${fn}-floor.mjs`);
      await bundle({ source: `${sdks.map((s) => SDKS[s]).join('\n')}\nexport const handler = () => ({ statusCode: 401 });\n` }, floorOut);
      const answer = fn === 'alertmanager-webhook';
      sample(out, answer); // warm the file cache for both
      sample(floorOut, answer);
      const ms: number[] = [];
      const floorMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        ms.push(sample(out, answer));
        floorMs.push(sample(floorOut, answer));
      }
      const row = { fn, sdks, bytes: statSync(out).size, floorBytes: statSync(floorOut).size, ms, floorMs };
      log(`cold start ${fn}: ${median(ms).toFixed(1)} ms against ${median(floorMs).toFixed(1)} ms for its SDKs alone (${(median(ms) / median(floorMs)).toFixed(2)}x)`);
      rows.push(row);
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function coldStartTable(rows: readonly ColdStartRow[]): string[] {
  const runs = rows[0]?.ms.length ?? 0;
  const lines = [
    `Whole process, ${runs} fresh processes per side, alternating; median (min–max) ms from process start to the bundle loaded (the webhook: to its first answer, a 401). Floor: a bundle of the SDKs the function's bundle contains, one client each, nothing else.`,
    '',
    '| function | SDKs in the bundle | bundle bytes | floor bytes | function | floor | ratio (medians) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const range = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  for (const r of rows) {
    lines.push(`| ${r.fn} | ${r.sdks.map((s) => s.replace('@aws-sdk/client-', '').replace('@kubernetes/client-node', 'kubernetes').replace('@anthropic-ai/sdk', 'anthropic')).join(', ')} | ${r.bytes.toLocaleString('en')} | ${r.floorBytes.toLocaleString('en')} | ${range(r.ms)} | ${range(r.floorMs)} | ${(median(r.ms) / median(r.floorMs)).toFixed(2)}x |`);
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchColdStart(undefined, (l) => console.error(l));
  console.log(coldStartTable(rows).join('\n'));
}
