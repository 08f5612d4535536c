/**
 * Where a CLI command reads and writes: the running local healer (its `.healer-local/session.json`)
 * or a deployed stage (`--stage`: table names and SSM paths as serverless.yml names them, AWS
 * credentials and region from the usual SDK chain; AWS_ENDPOINT_URL_* override endpoints).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, createSsmClient } from '../adapters/aws-clients.js';
import { FileKillSwitch } from '../local/file-kill-switch.js';
import { parseKillSwitchValue } from '../adapters/ssm-kill-switch.js';

export const SERVICE = 'k8s-healer';

export class UsageError extends Error {
  readonly exitCode = 2;
}
export class CommandFailed extends Error {
  readonly exitCode = 1;
}

export interface Target {
  readonly describe: string;
  /** The deployed stage's name; absent for the local run. */
  readonly stage?: string;
  readonly auditTable: string;
  readonly stateTable: string;
  readonly dynamo: DynamoDBClient;
  /** Where approvals are answered, when known (the local run's /approve). */
  readonly approveUrl?: string;
  readonly kubeconfig?: string;
  killSwitch(): Promise<{ engaged: boolean; where: string }>;
  setKillSwitch(on: boolean): Promise<void>;
}

interface LocalSession {
  pid?: number;
  dynamoEndpoint?: string;
  auditTable?: string;
  stateTable?: string;
  approveUrl?: string;
  kubeconfig?: string;
  killSwitchFile?: string;
  killSwitchParam?: string;
}

export const localDir = (env: NodeJS.ProcessEnv = process.env) => env.HEALER_LOCAL_DIR ?? join(process.cwd(), '.healer-local');

function ssmKillSwitch(name: string): Pick<Target, 'killSwitch' | 'setKillSwitch'> {
  const ssm = createSsmClient();
  return {
    async killSwitch() {
      const got = await ssm.send(new GetParameterCommand({ Name: name }));
      return { engaged: parseKillSwitchValue(name, got.Parameter?.Value), where: `SSM ${name}` };
    },
    async setKillSwitch(on) {
      await ssm.send(new PutParameterCommand({ Name: name, Value: on ? 'on' : 'off', Type: 'String', Overwrite: true }));
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function resolveTarget(o: { stage?: string }, env: NodeJS.ProcessEnv = process.env): Target {
  if (o.stage !== undefined) {
    if (!/^[a-zA-Z0-9-]{1,32}$/.test(o.stage)) throw new UsageError(`--stage "${o.stage}" is not a stage name (letters, digits and dashes)`);
    const kill = ssmKillSwitch(`/${SERVICE}/${o.stage}/kill-switch`);
    return {
      describe: `stage ${o.stage} (${env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'region from the AWS profile'})`,
      stage: o.stage,
      auditTable: `${SERVICE}-${o.stage}-audit`,
      stateTable: `${SERVICE}-${o.stage}-state`,
      dynamo: createDynamoDbClient(),
      ...kill,
    };
  }
  const file = join(localDir(env), 'session.json');
  if (!existsSync(file)) throw new CommandFailed(`no running local healer (${file} not found): start one with \`k8s-healer serve\` (npm start), or name a deployed stage with --stage`);
  const session = JSON.parse(readFileSync(file, 'utf8')) as LocalSession;
  if (session.pid !== undefined && !alive(session.pid)) throw new CommandFailed(`the local run that wrote ${file} (pid ${session.pid}) has stopped: start it again with \`k8s-healer serve\`, or name a deployed stage with --stage`);
  const dynamo = createDynamoDbClient({
    ...(session.dynamoEndpoint ? { endpoint: session.dynamoEndpoint, region: env.AWS_REGION ?? 'us-east-1' } : {}),
    ...(session.dynamoEndpoint && !env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  const fileSwitch = session.killSwitchFile ? new FileKillSwitch(session.killSwitchFile) : undefined;
  const kill: Pick<Target, 'killSwitch' | 'setKillSwitch'> = fileSwitch
    ? { killSwitch: async () => ({ engaged: await fileSwitch.engaged(), where: fileSwitch.path }), setKillSwitch: (on) => fileSwitch.set(on) }
    : session.killSwitchParam
      ? ssmKillSwitch(session.killSwitchParam)
      : { killSwitch: () => Promise.reject(new CommandFailed('this local run has no runtime kill switch')), setKillSwitch: () => Promise.reject(new CommandFailed('this local run has no runtime kill switch')) };
  return {
    describe: `the local run (${file})`,
    auditTable: session.auditTable ?? 'k8s-healer-audit',
    stateTable: session.stateTable ?? 'k8s-healer-state',
    dynamo,
    ...(session.approveUrl ? { approveUrl: session.approveUrl } : {}),
    ...(session.kubeconfig ? { kubeconfig: session.kubeconfig } : {}),
    ...kill,
  };
}
