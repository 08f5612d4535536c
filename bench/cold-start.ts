/**
 * `npm run bench:cold-start`: the webhook's cold start, this tree against a baseline (default: the
 * `main` branch, or BENCH_BASELINE_REF), measured in the same run. Each side is bundled as
 * serverless.yml bundles it (esbuild, ESM, minified, node22); each sample is a fresh Node process
 * that loads the bundle and answers one request (a 401: no AWS call, so only our own code's load
 * and first-invocation cost is timed). Runs alternate between the two sides, so machine load hits
 * both alike. Not Lambda: the figures compare the two bundles on this machine.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? '15');
const baselineRef = process.env.BENCH_BASELINE_REF ?? 'main';

async function bundle(sourceRoot: string, outfile: string): Promise<number> {
  await build({
    entryPoints: [join(sourceRoot, 'functions', 'alertmanager-webhook.ts')],
    outfile,
    bundle: true,
    minify: true,
    keepNames: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __healerCreateRequire } from 'node:module'; const require = __healerCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return statSync(outfile).size;
}

/** One fresh process: load the bundle, answer one request; ms from process start to each point. */
const PROBE = `
const { performance } = await import('node:perf_hooks');
const started = performance.now();
const { handler } = await import(process.env.BUNDLE);
const loaded = performance.now();
const ctx = { functionName: 'bench', awsRequestId: 'r1', getRemainingTimeInMillis: () => 10000 };
const event = { headers: {}, body: '{}', isBase64Encoded: false, requestContext: { http: { method: 'POST' } } };
const res = await handler(event, ctx);
const answered = performance.now();
if (res.statusCode !== 401) throw new Error('unexpected ' + res.statusCode);
process.stderr.write(JSON.stringify({ sinceStart: answered, load: loaded - started, firstInvoke: answered - loaded }) + '\\n');
`;

function sample(bundlePath: string): { sinceStart: number; load: number; firstInvoke: number } {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: {
      PATH: process.env.PATH, BUNDLE: bundlePath, AWS_REGION: 'us-east-1', HEALER_WEBHOOK_TOKEN: 'bench-token',
      HEALER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x',
    },
    encoding: 'utf8',
  });
  const line = out.stderr.trim().split('\n').filter((l) => l.startsWith('{"sinceStart"')).at(-1);
  if (out.status !== 0 || !line) throw new Error(`probe failed: ${out.stderr}`);
  return JSON.parse(line) as { sinceStart: number; load: number; firstInvoke: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const range = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

const work = mkdtempSync(join(tmpdir(), 'k8s-healer-cold-'));
try {
  // The baseline's sources from git, with this tree's node_modules.
  const baseDir = join(work, 'baseline');
  execFileSync('bash', ['-c', `mkdir -p ${baseDir} && git -C ${repoRoot} archive ${baselineRef} functions lib | tar -x -C ${baseDir}`]);
  symlinkSync(join(repoRoot, 'node_modules'), join(baseDir, 'node_modules'), 'dir');
  const sides = {
    baseline: { path: join(work, 'baseline.mjs'), bytes: await bundle(baseDir, join(work, 'baseline.mjs')) },
    current: { path: join(work, 'current.mjs'), bytes: await bundle(repoRoot, join(work, 'current.mjs')) },
  };
  const results: Record<keyof typeof sides, { sinceStart: number[]; load: number[]; firstInvoke: number[] }> = {
    baseline: { sinceStart: [], load: [], firstInvoke: [] },
    current: { sinceStart: [], load: [], firstInvoke: [] },
  };
  sample(sides.baseline.path); // warm the file cache for both
  sample(sides.current.path);
  for (let i = 0; i < RUNS; i++) {
    for (const side of ['baseline', 'current'] as const) {
      const s = sample(sides[side].path);
      results[side].sinceStart.push(s.sinceStart);
      results[side].load.push(s.load);
      results[side].firstInvoke.push(s.firstInvoke);
    }
  }
  console.log(`webhook cold start, ${RUNS} fresh processes per side, median (min–max) ms; baseline ${baselineRef}`);
  console.log('| side | bundle bytes | process start → first answer | bundle load | first invocation |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const side of ['baseline', 'current'] as const) {
    const r = results[side];
    console.log(`| ${side} | ${sides[side].bytes} | ${range(r.sinceStart)} | ${range(r.load)} | ${range(r.firstInvoke)} |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
