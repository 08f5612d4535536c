/**
 * The real local run (`scripts/local-healer.ts`, what `npm start` and `k8s-healer serve` run) as a
 * process of its own, with a clean environment and its own `.healer-local` directory, and the
 * `k8s-healer` CLI run against it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './control-plane.js';
import { spawnSupervised, type Supervised } from './process.js';

export interface LocalRun {
  readonly run: Supervised;
  /** Console lines (stderr), without the "[healer] " prefix. */
  readonly lines: string[];
  /** stdout as it came (the console notifier's pages, one JSON line each). */
  readonly stdout: string[];
  readonly localDir: string;
  stop(): Promise<void>;
}

/** The environment without AWS endpoints, model keys, HEALER_* settings or a kubeconfig. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HEALER_|AWS_|ANTHROPIC_|KUBECONFIG$|K8S_HEALER_CLUSTER_INFO$)/.test(k)));
}

export function startLocalRun(env: Record<string, string>, args: string[] = []): LocalRun {
  const localDir = mkdtempSync(join(tmpdir(), 'healer-local-run-'));
  const run = spawnSupervised(process.execPath, ['--import', 'tsx', 'scripts/local-healer.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), HEALER_LOCAL_DIR: localDir, ...env },
  });
  const lines: string[] = [];
  const stdout: string[] = [];
  run.child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
  let partial = '';
  run.child.stderr?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.map((l) => l.replace(/^\[healer\] /, '')));
  });
  return {
    run, lines, stdout, localDir,
    async stop() {
      await run.stop(20_000);
      rmSync(localDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `k8s-healer <args>` through the package's bin, as a user runs it. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'k8s-healer.mjs'), ...args], { cwd: REPO_ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
