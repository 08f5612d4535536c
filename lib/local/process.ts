/**
 * Process plumbing for the real local components the tests start: free ports, supervised
 * servers that cannot outlive the test process, readiness polling with the log tail in errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';

export interface RunningComponent {
  readonly endpoint: string;
  /** Wall time from spawn to first good answer. */
  readonly startMs: number;
  readonly pid: number;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Process plumbing

/** A port nobody listens on right now (host '0.0.0.0' for servers that bind every interface). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export interface Supervised {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last lines of stdout+stderr, for error messages. */
  logTail(): string;
  /** Resolves with the exit code/signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; only this PID. */
  stop(graceMs?: number): Promise<void>;
}

const LOG_TAIL_BYTES = 8 * 1024;

/**
 * Spawns a server so that it cannot outlive this test process: a one-line `sh` watchdog blocks on
 * a pipe from us and kills the server's PID when the pipe reaches EOF, which the kernel delivers
 * however we die (even SIGKILL, where no exit hook runs). stop() kills the watchdog first.
 */
export function spawnSupervised(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Supervised {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitedFlag = false;
  let watchdog: ChildProcess | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      // Its PID may be reused from now on: the watchdog must not fire at it later.
      if (watchdog !== undefined && watchdog.exitCode === null) watchdog.kill('SIGKILL');
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      exitedFlag = true;
      tail += `\nspawn error: ${error.message}`;
      resolve({ code: null, signal: null });
    });
  });
  const pid = child.pid ?? -1;

  if (pid > 0) {
    watchdog = spawn('sh', ['-c', 'read -r _ignored; kill -KILL "$1" 2>/dev/null', 'healer-watchdog', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // Neither the watchdog nor its pipe may keep the test process alive.
    watchdog.unref();
    (watchdog.stdin as (NodeJS.WritableStream & Partial<Socket>) | null)?.unref?.();
  }
  // A server left running by a test that forgot stop() must not hold vitest open either.
  child.unref();
  (child.stdout as Partial<Socket> | null)?.unref?.();
  (child.stderr as Partial<Socket> | null)?.unref?.();
  // Normal exit: do not wait for the pipe, kill synchronously.
  const onExit = () => {
    if (!exitedFlag) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  return {
    child,
    pid,
    logTail: () => tail.trim(),
    exited,
    hasExited: () => exitedFlag,
    async stop(graceMs = 5_000) {
      process.removeListener('exit', onExit);
      if (watchdog?.pid !== undefined && watchdog.exitCode === null) watchdog.kill('SIGKILL');
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it resolves true; fails early with the log tail if the process dies. */
export async function waitUntilReady(
  name: string,
  proc: Supervised,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      const { code, signal } = await proc.exited;
      throw new Error(`${name} exited before it was ready (code ${code}, signal ${signal}); log tail:\n${proc.logTail()}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await proc.stop();
  throw new Error(`${name} did not answer within ${timeoutMs} ms (last probe error: ${lastError}); log tail:\n${proc.logTail()}`);
}

/** True when a start failure must fail the run: in CI a missing component is never a skip. */
export const mustRun = (): boolean => ['1', 'true'].includes((process.env.CI ?? '').toLowerCase());
