/**
 * Packages the service with `osls package` exactly as a deploy would (serverless-esbuild bundles,
 * per-function zips, the CloudFormation template), without AWS: dummy credentials, no ${aws:...}
 * variables. Then checks what matters before anything reaches an account: cfn-lint, runtimes,
 * least-privilege roles (the audit table stays append-only), table key schemas identical to
 * lib/adapters/tables.ts, the SQS/Lambda timing rules, and what each bundle contains.
 *
 * osls deletes and rewrites `<service>/.serverless` on every run, so the service is packaged from
 * a copy in a temp dir (node_modules symlinked): engineers packaging or running serverless-offline
 * in the shared checkout are never disturbed.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TABLE, STATE_TABLE } from '../../lib/adapters/tables.js';
import { POLICY_SETTINGS } from '../../lib/config/config.js';
import { METRIC } from '../../lib/metrics/healer-metrics.js';
import type { Notification } from '../../lib/domain/types.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const STAGE = 'dev';
const FUNCTIONS = {
  webhook: { key: 'alertmanager-webhook', logicalId: 'AlertmanagerDashwebhookLambdaFunction' },
  scan: { key: 'scheduled-scan', logicalId: 'ScheduledDashscanLambdaFunction' },
  remediate: { key: 'remediate', logicalId: 'RemediateLambdaFunction' },
  approve: { key: 'approve', logicalId: 'ApproveLambdaFunction' },
  deadLetter: { key: 'dead-letter', logicalId: 'DeadDashletterLambdaFunction' },
} as const;
/** The functions that can change the cluster: they must decide by the same policy settings. */
const ACTING = ['remediate', 'approve'] as const;
/** Zipped-size budgets: a regression (e.g. the cluster client pulled into the webhook) fails here. */
const ZIP_BUDGET_BYTES = { webhook: 400_000, scan: 2_000_000, remediate: 2_000_000, approve: 2_000_000, deadLetter: 400_000 } as const;
/** Packages the webhook must never load: they cost it cold-start time and it does no such work. */
const FORBIDDEN_IN_WEBHOOK = ['@kubernetes/client-node', '@anthropic-ai/sdk'] as const;

// cfn-lint W3005 "dependency already enforced by GetAtt/Ref": the framework itself adds a
// DependsOn next to every function's Role GetAtt and the HTTP API route's integration Ref.
const CFN_LINT_IGNORED = ['W3005'];

type Json = Record<string, unknown>;
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
interface Template {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}
interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
interface RoleProperties {
  readonly Policies: { readonly PolicyName: string; readonly PolicyDocument: { readonly Statement: Statement[] } }[];
  readonly ManagedPolicyArns?: unknown[];
}
interface FunctionProperties {
  readonly Runtime: string;
  readonly Handler: string;
  readonly FunctionName: string;
  readonly Timeout: number;
  readonly MemorySize: number;
  readonly Architectures: string[];
  readonly ReservedConcurrentExecutions?: number;
  readonly Role: { readonly 'Fn::GetAtt': [string, string] };
  readonly Environment: { readonly Variables: Record<string, unknown> };
}
interface Metafile {
  readonly outputs: Record<string, { readonly inputs: Record<string, { readonly bytesInOutput: number }> }>;
}

function cfnLintPath(): string {
  const cache = process.env.K8S_HEALER_CACHE ?? join(homedir(), '.cache', 'k8s-healer');
  return join(cache, 'venv', 'bin', 'cfn-lint');
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Entries of a zip file by name (stored or deflated; sizes from the central directory). */
function readZip(path: string): Map<string, Buffer> {
  const zip = readFileSync(path);
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${path}: not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 0 ? Buffer.from(data) : inflateRawSync(data));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** node_modules package name -> bytes it contributes to the bundle (esbuild metafile). */
function packagesInBundle(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0) continue;
      // The innermost node_modules/<pkg> owns the file (nested copies count as that package).
      const at = input.lastIndexOf('node_modules/');
      const name = at < 0 ? '(project)' : (/^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.slice(at))?.[1] ?? input);
      sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return sizes;
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Logical ids (GetAtt/Ref) and literal or Fn::Sub strings a statement's Resource names. */
function resourceNames(resource: unknown): string[] {
  if (Array.isArray(resource)) return resource.flatMap(resourceNames);
  if (typeof resource === 'string') return [resource];
  if (resource !== null && typeof resource === 'object') {
    const r = resource as Json;
    if (Array.isArray(r['Fn::GetAtt'])) return [String(r['Fn::GetAtt'][0])];
    if (typeof r.Ref === 'string') return [r.Ref];
    if (typeof r['Fn::Sub'] === 'string') return [r['Fn::Sub']];
  }
  return [JSON.stringify(resource)];
}

function ssmParameterArn(name: string): string {
  return `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`;
}

/**
 * DynamoDB operations an adapter source file sends (`new XxxCommand(`), as IAM actions.
 * TransactWriteItems has no IAM action of its own: each item in it is authorised as the single-item
 * action it performs; the adapter's transactions hold conditional Updates only.
 */
const IAM_ACTION_OF: Readonly<Record<string, string>> = { TransactWriteItems: 'UpdateItem' };
function dynamoActionsUsedBy(relativePath: string): string[] {
  const source = readFileSync(join(repoRoot, relativePath), 'utf8');
  return [...new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => `dynamodb:${IAM_ACTION_OF[m[1] ?? ''] ?? m[1]}`))].sort();
}

/**
 * Packages a private copy of the service (node_modules symlinked) with dummy credentials, so
 * nothing could reach an account; `extraArgs` are more osls options (e.g. --param).
 */
async function packageInTemp(extraArgs: readonly string[]): Promise<{ serviceDir: string; outDir: string; template: Template; log: string }> {
  const serviceDir = mkdtempSync(join(tmpdir(), 'k8s-healer-package-'));
  const outDir = join(serviceDir, 'package-out');
  for (const entry of ['serverless.yml', 'package.json', 'tsconfig.json', 'functions', 'lib', 'infra']) {
    cpSync(join(repoRoot, entry), join(serviceDir, entry), { recursive: true });
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    // Keep .esbuild/ (with the esbuild metafiles) in the temp copy for the bundle checks.
    HEALER_ESBUILD_KEEP: 'true',
  };
  // Node 22 (this process) runs osls.
  const result = await run(
    process.execPath,
    [join(repoRoot, 'node_modules', 'osls', 'bin', 'serverless.js'), 'package', '--stage', STAGE, '--package', outDir, ...extraArgs],
    { cwd: serviceDir, env, timeoutMs: 110_000 },
  );
  const log = `${result.stdout}\n${result.stderr}`;
  console.log(`osls package ${extraArgs.join(' ')}: exit ${result.code} in ${result.ms} ms`);
  if (result.code !== 0) throw new Error(`osls package failed (exit ${result.code}):\n${log}`);
  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { serviceDir, outDir, template, log };
}

/** cfn-lint over a packaged template; skipped locally (failed in CI) when the tool is missing. */
async function cfnLint(ctx: { skip: (note?: string) => void }, outDir: string, cwd: string): Promise<void> {
  const cfnLint = cfnLintPath();
  if (!existsSync(cfnLint)) {
    // CI must validate the template; locally, say how to get the tool.
    if (process.env.CI === 'true') throw new Error(`cfn-lint not found at ${cfnLint}; run scripts/setup-tools.sh`);
    ctx.skip(`cfn-lint not found at ${cfnLint} (run scripts/setup-tools.sh)`);
    return;
  }
  const result = await run(
    cfnLint,
    ['--format', 'parseable', '--ignore-checks', ...CFN_LINT_IGNORED, '--', join(outDir, 'cloudformation-template-update-stack.json')],
    // A whole template through Python on a busy 2-core machine: minutes, not the default minute.
    { cwd, env: process.env, timeoutMs: 150_000 },
  );
  if (result.code !== 0) console.error(`cfn-lint findings:\n${result.stdout}${result.stderr}`);
  expect(result.code, `cfn-lint findings:\n${result.stdout}${result.stderr}`).toBe(0);
}

describe('osls package (offline) produces a valid, least-privilege deployment', () => {
  let serviceDir = '';
  let outDir = '';
  let template: Template;

  const resource = (logicalId: string): CfnResource => {
    const found = template.Resources[logicalId];
    if (found === undefined) throw new Error(`template has no resource ${logicalId}`);
    return found;
  };
  const fn = (name: keyof typeof FUNCTIONS): FunctionProperties =>
    resource(FUNCTIONS[name].logicalId).Properties as unknown as FunctionProperties;
  const statementsOf = (name: keyof typeof FUNCTIONS): Statement[] => {
    const role = resource(fn(name).Role['Fn::GetAtt'][0]);
    expect(role.Type).toBe('AWS::IAM::Role');
    return (role.Properties as unknown as RoleProperties).Policies.flatMap((p) => p.PolicyDocument.Statement);
  };
  const allowedOn = (name: keyof typeof FUNCTIONS, logicalId: string): string[] =>
    statementsOf(name)
      .filter((s) => s.Effect === 'Allow' && resourceNames(s.Resource).includes(logicalId))
      .flatMap(actions)
      .sort();
  const metafileOf = (name: keyof typeof FUNCTIONS): Metafile =>
    JSON.parse(readFileSync(join(serviceDir, '.esbuild', '.build', 'functions', `${FUNCTIONS[name].key}-meta.json`), 'utf8')) as Metafile;

  beforeAll(async () => {
    // Prepare + Act: the same command as `npm run package`, default stage parameters (no VPC).
    ({ serviceDir, outDir, template } = await packageInTemp([]));
  }, 150_000);

  afterAll(() => {
    if (serviceDir !== '') rmSync(serviceDir, { recursive: true, force: true });
  });

  it('passes cfn-lint', async (ctx) => {
    await cfnLint(ctx, outDir, serviceDir);
  }, 180_000);

  it('defines the five functions on nodejs22.x/arm64 with the right triggers and limits', () => {
    // Prepare
    const byType = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

    // Act
    const [webhook, scan, remediate, approve, deadLetter] = [fn('webhook'), fn('scan'), fn('remediate'), fn('approve'), fn('deadLetter')];
    const route = byType('AWS::ApiGatewayV2::Route').map((r) => r.Properties?.RouteKey);
    const rule = byType('AWS::Events::Rule')[0]?.Properties;
    type Mapping = Json & { ScalingConfig?: { MaximumConcurrency?: number }; EventSourceArn?: unknown; FunctionName?: unknown };
    const mappings = byType('AWS::Lambda::EventSourceMapping').map((r) => r.Properties as Mapping);
    const mappingOf = (queue: string) => mappings.find((m) => JSON.stringify(m.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [queue, 'Arn'] }));
    const mapping = mappingOf('IncidentsQueue') ?? {};
    const deadLetterMapping = mappingOf('IncidentsDeadLetterQueue') ?? {};
    const queue = resource('IncidentsQueue').Properties as Json & { RedrivePolicy: Json };
    const dlq = resource('IncidentsDeadLetterQueue').Properties as Json;

    // Assess
    for (const [name, props] of Object.entries({ webhook, scan, remediate, approve, deadLetter })) {
      expect(props.Runtime, name).toBe('nodejs22.x');
      expect(props.Architectures, name).toEqual(['arm64']);
      expect(props.Handler, name).toBe(`functions/${FUNCTIONS[name as keyof typeof FUNCTIONS].key}.handler`);
    }
    expect(route.sort()).toEqual(['GET /approve', 'POST /alerts', 'POST /approve']);
    expect(approve.ReservedConcurrentExecutions).toBeLessThanOrEqual(5);
    expect(webhook.Timeout).toBeLessThanOrEqual(10);
    expect(webhook.MemorySize).toBeLessThanOrEqual(512);
    expect(rule?.ScheduleExpression).toBe('rate(5 minutes)');
    expect(scan.ReservedConcurrentExecutions).toBe(1);
    expect(remediate.ReservedConcurrentExecutions).toBe(5);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.BatchSize).toBeLessThanOrEqual(5);
    // Pollers beyond the reserved concurrency would be throttled and burn receive counts.
    expect(mapping.ScalingConfig?.MaximumConcurrency).toBeLessThanOrEqual(remediate.ReservedConcurrentExecutions ?? 0);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * remediate.Timeout);
    expect(Number(remediate.Environment.Variables.HEALER_LOCK_SECONDS)).toBeGreaterThan(remediate.Timeout);
    // ... and ends before SQS delivers a crashed run's message again, which the worker checks at start.
    expect(Number(remediate.Environment.Variables.HEALER_QUEUE_VISIBILITY_SECONDS)).toBe(queue.VisibilityTimeout);
    expect(Number(remediate.Environment.Variables.HEALER_LOCK_SECONDS)).toBeLessThan(Number(queue.VisibilityTimeout));
    expect(queue.RedrivePolicy).toMatchObject({ maxReceiveCount: 3, deadLetterTargetArn: { 'Fn::GetAtt': ['IncidentsDeadLetterQueue', 'Arn'] } });
    expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    // Every dead letter pages: the dead-letter function consumes the DLQ, one message at a time.
    expect(mappings).toHaveLength(2);
    expect(deadLetterMapping).toMatchObject({ BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(JSON.stringify(deadLetterMapping.FunctionName)).toContain(FUNCTIONS.deadLetter.logicalId);
    expect(dlq.VisibilityTimeout).toBeGreaterThanOrEqual(6 * deadLetter.Timeout);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(resource('OnCallTopic').Properties?.KmsMasterKeyId).toEqual({ Ref: 'OnCallKey' });
    for (const logGroup of byType('AWS::Logs::LogGroup')) expect(logGroup.Properties?.RetentionInDays).toBeGreaterThan(0);
  });

  it('creates the tables exactly as lib/adapters/tables.ts describes them', () => {
    // Act
    const state = resource('StateTable');
    const audit = resource('AuditTable');

    // Assess
    expect(state.Properties).toMatchObject({
      AttributeDefinitions: STATE_TABLE.AttributeDefinitions,
      KeySchema: STATE_TABLE.KeySchema,
      BillingMode: STATE_TABLE.BillingMode,
      TimeToLiveSpecification: STATE_TABLE.TimeToLiveSpecification,
    });
    expect(audit.Properties).toMatchObject({
      AttributeDefinitions: AUDIT_TABLE.AttributeDefinitions,
      KeySchema: AUDIT_TABLE.KeySchema,
      GlobalSecondaryIndexes: AUDIT_TABLE.GlobalSecondaryIndexes,
      BillingMode: AUDIT_TABLE.BillingMode,
      DeletionProtectionEnabled: true,
    });
    for (const table of [state, audit]) {
      expect(table.Properties).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    }
    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.UpdateReplacePolicy).toBe('Retain');
  });

  it('passes configuration by known names, dry-run by default, secrets only by SSM parameter name', () => {
    // Prepare
    const configSource = readFileSync(join(repoRoot, 'lib', 'config', 'config.ts'), 'utf8');

    // Act
    const envs = Object.fromEntries((Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]).map((n) => [n, fn(n).Environment.Variables]));

    // Assess
    for (const [name, variables] of Object.entries(envs)) {
      for (const key of Object.keys(variables)) {
        if (key.startsWith('HEALER_')) expect(configSource, `${name}: ${key} is not read by lib/config/config.ts`).toContain(`${key}:`);
      }
      // Secret values never travel in the environment.
      expect(Object.keys(variables), name).not.toContain('HEALER_WEBHOOK_TOKEN');
      expect(Object.keys(variables), name).not.toContain('ANTHROPIC_API_KEY');
      expect(variables.HEALER_STATE_TABLE, name).toEqual({ Ref: 'StateTable' });
    }
    expect(envs.webhook).toMatchObject({ HEALER_QUEUE_URL: { Ref: 'IncidentsQueue' }, HEALER_WEBHOOK_TOKEN_PARAM: `/k8s-healer/${STAGE}/webhook-token` });
    // The scan reads the read-only kubeconfig (k8s-healer-scan, infra/rbac.yaml), never the healer's.
    expect(envs.scan).toMatchObject({ HEALER_QUEUE_URL: { Ref: 'IncidentsQueue' }, HEALER_KUBECONFIG_PARAM: `/k8s-healer/${STAGE}/scan-kubeconfig` });
    expect(envs.remediate).toMatchObject({
      HEALER_AUDIT_TABLE: { Ref: 'AuditTable' },
      HEALER_TOPIC_ARN: { Ref: 'OnCallTopic' },
      HEALER_DRY_RUN: 'true',
      HEALER_KILL_SWITCH: 'false',
      HEALER_KUBECONFIG_PARAM: `/k8s-healer/${STAGE}/kubeconfig`,
      HEALER_ANTHROPIC_KEY_PARAM: `/k8s-healer/${STAGE}/anthropic-api-key`,
    });
    expect(envs.webhook).not.toHaveProperty('HEALER_KUBECONFIG_PARAM');
    expect(envs.webhook).not.toHaveProperty('HEALER_ANTHROPIC_KEY_PARAM');
    // EKS sign-in is a stage param for exactly the functions that reach the cluster; off by default.
    for (const name of ['scan', 'remediate', 'approve'] as const) {
      expect(envs[name], name).toMatchObject({ HEALER_EKS_CLUSTER_NAME: '', HEALER_EKS_ENDPOINT: '', HEALER_EKS_CA_DATA: '' });
    }
    for (const name of ['webhook', 'deadLetter'] as const) expect(envs[name], name).not.toHaveProperty('HEALER_EKS_CLUSTER_NAME');
  });

  it('gives each function its own least-privilege role; the audit table stays append-only', () => {
    // Prepare
    const names = Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[];
    // The worker's and the approval function's state-table adapters, together.
    const stateActionsUsed = [...new Set(['dynamo-state-store', 'dynamo-approval-store', 'dynamo-model-budget'].flatMap((f) => dynamoActionsUsedBy(`lib/adapters/${f}.ts`)))].sort();
    const auditActionsUsed = dynamoActionsUsedBy('lib/adapters/dynamo-audit-log.ts');

    // Act
    const roles = names.map((n) => fn(n).Role['Fn::GetAtt'][0]);
    const auditAllows = names.flatMap((n) => allowedOn(n, 'AuditTable'));
    const auditDenies = statementsOf('remediate')
      .filter((s) => s.Effect === 'Deny' && resourceNames(s.Resource).includes('AuditTable'))
      .flatMap(actions);

    // Assess
    expect(new Set(roles).size).toBe(names.length);
    // Only our own roles exist: no framework-generated shared role with broader rights.
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Role')).toHaveLength(names.length);
    for (const name of names) {
      const role = resource(fn(name).Role['Fn::GetAtt'][0]).Properties as unknown as RoleProperties;
      expect(role.ManagedPolicyArns ?? [], name).toEqual([]);
      for (const statement of statementsOf(name)) {
        expect(resourceNames(statement.Resource), `${name} ${statement.Sid ?? ''}`).not.toContain('*');
        for (const action of actions(statement)) expect(action, `${name} ${statement.Sid ?? ''}`).not.toMatch(/(^\*$|:\*$)/);
      }
      const logs = statementsOf(name).filter((s) => actions(s).some((a) => a.startsWith('logs:')));
      expect(logs.flatMap((s) => resourceNames(s.Resource)), name).toEqual([
        `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${fn(name).FunctionName}:*`,
      ]);
    }
    // The audit table: put and query, by the worker and the approval function only; rewrites explicitly denied.
    expect([...new Set(auditAllows)].sort()).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(allowedOn('webhook', 'AuditTable')).toEqual([]);
    expect(allowedOn('scan', 'AuditTable')).toEqual([]);
    for (const name of ['remediate', 'approve', 'deadLetter'] as const) {
      const denies = statementsOf(name).filter((s) => s.Effect === 'Deny' && resourceNames(s.Resource).includes('AuditTable')).flatMap(actions);
      expect(denies, name).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']));
    }
    expect(auditActionsUsed.every((a) => auditAllows.includes(a)), `audit adapter uses ${auditActionsUsed.join(', ')}`).toBe(true);
    expect(auditAllows.some((a) => /Update|Delete|BatchWrite|PartiQL/.test(a))).toBe(false);
    expect(auditDenies).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']));
    // The state table: exactly what the adapter sends (the worker) or dedup needs (the producers).
    expect(allowedOn('remediate', 'StateTable')).toEqual(stateActionsUsed);
    expect(allowedOn('webhook', 'StateTable')).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(allowedOn('scan', 'StateTable')).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(allowedOn('webhook', 'IncidentsQueue')).toEqual(['sqs:SendMessage']);
    expect(allowedOn('scan', 'IncidentsQueue')).toEqual(['sqs:SendMessage']);
    // The worker polls the queue and sends its own delayed verification re-checks to it.
    expect(allowedOn('remediate', 'IncidentsQueue')).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage']);
    expect(allowedOn('approve', 'IncidentsQueue')).toEqual(['sqs:SendMessage']);
    expect(allowedOn('approve', 'StateTable')).toEqual(stateActionsUsed);
    expect(allowedOn('remediate', 'OnCallTopic')).toEqual(['sns:Publish']);
    for (const name of ['webhook', 'scan'] as const) expect(allowedOn(name, 'OnCallTopic'), name).toEqual([]);
    // The dead-letter function reads the audit trail, pages, and consumes the DLQ: nothing else.
    expect(allowedOn('deadLetter', 'AuditTable')).toEqual(['dynamodb:Query']);
    expect(allowedOn('deadLetter', 'OnCallTopic')).toEqual(['sns:Publish']);
    expect(allowedOn('deadLetter', 'IncidentsDeadLetterQueue')).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    expect(allowedOn('deadLetter', 'StateTable')).toEqual([]);
    expect(allowedOn('deadLetter', 'IncidentsQueue')).toEqual([]);
    // SSM: exactly the parameters named in the function's own environment, and for the functions
    // that reach a cluster, the registry's per-cluster kubeconfigs of their own identity only; the
    // webhook, each cluster's own webhook token.
    const clusterKubeconfigs: Partial<Record<keyof typeof FUNCTIONS, string>> = {
      scan: `/k8s-healer/${STAGE}/clusters/*/scan-kubeconfig`,
      remediate: `/k8s-healer/${STAGE}/clusters/*/kubeconfig`,
      approve: `/k8s-healer/${STAGE}/clusters/*/kubeconfig`,
    };
    const clusterParams: Partial<Record<keyof typeof FUNCTIONS, string>> = { ...clusterKubeconfigs, webhook: `/k8s-healer/${STAGE}/clusters/*/webhook-token` };
    for (const name of names) {
      const variables = fn(name).Environment.Variables;
      const perCluster = clusterParams[name];
      const expected = Object.entries(variables)
        .filter(([key]) => key.endsWith('_PARAM'))
        .map(([, value]) => ssmParameterArn(String(value)))
        .concat(perCluster ? [ssmParameterArn(perCluster)] : [])
        .sort();
      const granted = statementsOf(name)
        .filter((s) => actions(s).includes('ssm:GetParameter'))
        .flatMap((s) => resourceNames(s.Resource))
        .sort();
      expect(granted, name).toEqual(expected);
    }
    // EKS metadata (endpoint and CA of registry entries that leave them out): only where a cluster is reached.
    for (const name of names) {
      const describes = statementsOf(name).filter((s) => s.Effect === 'Allow' && actions(s).includes('eks:DescribeCluster'));
      expect(describes.length > 0, name).toBe(name in clusterKubeconfigs);
      for (const statement of describes) expect(actions(statement), name).toEqual(['eks:DescribeCluster']);
    }
    // The scan's role names the read-only kubeconfig only: no grant, not even a decrypt, reaches the healer's.
    const scanGrants = JSON.stringify(statementsOf('scan'));
    expect(scanGrants).toContain(`parameter/k8s-healer/${STAGE}/scan-kubeconfig`);
    expect(scanGrants).not.toMatch(/parameter\/k8s-healer\/[^/"]+\/kubeconfig/);
    expect(scanGrants).not.toMatch(/parameter\/k8s-healer\/[^"]*[^-]kubeconfig"/);
  });

  it('admits only the healer\'s own roles as senders to the incidents queue', () => {
    // Prepare
    const policies = Object.values(template.Resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy');
    const onQueue = policies.find((p) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: 'IncidentsQueue' }]));
    const statements = ((onQueue?.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? []);

    // Act
    const guard = statements.find((st) => st.Effect === 'Deny' && actions(st).includes('sqs:SendMessage') && JSON.stringify(st.Condition ?? {}).includes('aws:PrincipalArn'));
    const admitted = ((guard?.Condition as { ArnNotEquals?: Record<string, unknown[]> } | undefined)?.ArnNotEquals?.['aws:PrincipalArn'] ?? [])
      .map((arn) => (arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0])
      .sort();
    const senders = (Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])
      .filter((n) => allowedOn(n, 'IncidentsQueue').includes('sqs:SendMessage'))
      .map((n) => fn(n).Role['Fn::GetAtt'][0])
      .sort();

    // Assess: everyone else in the account is denied, whatever their own policies allow.
    expect((guard as { Principal?: unknown } | undefined)?.Principal).toBe('*');
    expect(resourceNames(guard?.Resource)).toEqual(['IncidentsQueue']);
    expect(admitted).toEqual(senders);
    expect(admitted).toEqual(['ApproveRole', 'RemediateRole', 'ScanRole', 'WebhookRole']);
  });

  it('gives every acting function the same policy settings, set in one place', () => {
    // Prepare
    const serverlessYml = readFileSync(join(repoRoot, 'serverless.yml'), 'utf8');
    const functionsSection = serverlessYml.slice(serverlessYml.indexOf('\nfunctions:'), serverlessYml.indexOf('\nresources:'));

    // Act
    const policyOf = (name: (typeof ACTING)[number]) => {
      const variables = fn(name).Environment.Variables;
      return Object.fromEntries(POLICY_SETTINGS.map((key) => [key, variables[key] ?? '(default)']));
    };

    // Assess: the worker and the approval function decide by identical settings ...
    const [first, ...others] = ACTING.map(policyOf);
    for (const other of others) expect(other).toEqual(first);
    expect(policyOf('remediate')).toMatchObject({ HEALER_DRY_RUN: 'true', HEALER_KILL_SWITCH: 'false', HEALER_KILL_SWITCH_PARAM: `/k8s-healer/${STAGE}/kill-switch` });
    // ... because no function sets one of its own (the kill switch's parameter name, the same
    // for both, is the one exception: the producers must not read it).
    for (const key of POLICY_SETTINGS.filter((k) => k !== 'HEALER_KILL_SWITCH_PARAM')) {
      expect(functionsSection, `${key} is set per function in serverless.yml`).not.toMatch(new RegExp(`^\\s+${key}:`, 'm'));
    }
  });

  it('bundles each function into its own zip; the webhook carries no cluster or model client', () => {
    // Act
    const report: Record<string, { zipBytes: number; bundleBytes: number; largest: string }> = {};
    const contents: Record<string, { files: string[]; code: string; packages: Map<string, number> }> = {};
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      const zipPath = join(outDir, `${FUNCTIONS[name].key}.zip`);
      const entries = readZip(zipPath);
      const code = entries.get(`functions/${FUNCTIONS[name].key}.mjs`)?.toString('utf8') ?? '';
      const packages = packagesInBundle(metafileOf(name));
      contents[name] = { files: [...entries.keys()], code, packages };
      report[name] = {
        zipBytes: statSync(zipPath).size,
        bundleBytes: Buffer.byteLength(code),
        largest: [...packages].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([p, b]) => `${p} ${b}`).join(', '),
      };
    }
    console.log(`bundle sizes (bytes):\n${JSON.stringify(report, null, 2)}`);

    // Assess
    for (const [name, { files, code }] of Object.entries(contents)) {
      expect(files, name).toEqual([`functions/${FUNCTIONS[name as keyof typeof FUNCTIONS].key}.mjs`]);
      expect(code.startsWith("import { createRequire as __healerCreateRequire } from 'node:module';"), name).toBe(true);
      expect(report[name]?.zipBytes, name).toBeLessThanOrEqual(ZIP_BUDGET_BYTES[name as keyof typeof ZIP_BUDGET_BYTES]);
    }
    const webhook = contents.webhook;
    const scan = contents.scan;
    for (const pkg of FORBIDDEN_IN_WEBHOOK) expect([...(webhook?.packages.keys() ?? [])]).not.toContain(pkg);
    // The dead-letter function only pages: no cluster or model client either.
    for (const pkg of FORBIDDEN_IN_WEBHOOK) expect([...(contents.deadLetter?.packages.keys() ?? [])]).not.toContain(pkg);
    // Source-level markers too (class names survive minification with keepNames).
    for (const marker of ['KubeConfig', 'CoreV1Api', 'anthropic-version']) expect(webhook?.code).not.toContain(marker);
    // The check can see these packages: the scan bundle, which talks to the cluster, has one.
    expect([...(scan?.packages.keys() ?? [])]).toContain('@kubernetes/client-node');
    expect(scan?.code).toContain('CoreV1Api');
    // The approve function replays the approved diagnosis: it acts on the cluster, never asks the model.
    expect([...(contents.approve?.packages.keys() ?? [])]).toContain('@kubernetes/client-node');
    expect([...(contents.approve?.packages.keys() ?? [])]).not.toContain('@anthropic-ai/sdk');
    expect([...(contents.remediate?.packages.keys() ?? [])]).toContain('@anthropic-ai/sdk');
    // zod is zod/mini, through lib/util/schema.ts: classic zod (not tree-shaken) or every locale
    // would add ~270-440 KB to each bundle, most of the webhook's cold start over its SDKs.
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      const zodFiles = Object.values(metafileOf(name).outputs)
        .flatMap((output) => Object.entries(output.inputs))
        .filter(([input, { bytesInOutput }]) => bytesInOutput > 0 && input.includes('node_modules/zod/'))
        .map(([input]) => input.slice(input.lastIndexOf('node_modules/zod/')));
      expect(zodFiles.filter((f) => f.includes('/v4/classic/')), name).toEqual([]);
      expect(zodFiles.filter((f) => f.includes('/locales/') && !f.endsWith('/locales/en.js')), name).toEqual([]);
    }
  });

  it('alarms on dead letters, every function\'s errors and throttles, scan failures, HTTP 500s, failed pages, a spent model budget and an open breaker; all page through the topic', () => {
    // Prepare
    type Alarm = Json & { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[]; AlarmActions: unknown[]; OKActions: unknown[] };
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, ...(r.Properties as Alarm) }));
    const namespace = fn('remediate').Environment.Variables.HEALER_METRICS_NAMESPACE;
    const watched = (ns: string, metric: string, dim?: [string, unknown]) =>
      alarms.filter((a) => a.Namespace === ns && a.MetricName === metric && (!dim || JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: dim[0], Value: dim[1] }])));

    // Assess: what is watched ...
    expect(watched('AWS/SQS', 'ApproximateNumberOfMessagesVisible', ['QueueName', { 'Fn::GetAtt': ['IncidentsDeadLetterQueue', 'QueueName'] }])).toHaveLength(1);
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      for (const metric of ['Errors', 'Throttles']) expect(watched('AWS/Lambda', metric, ['FunctionName', fn(name).FunctionName]), `${name} ${metric}`).toHaveLength(1);
    }
    // The healer's own metrics, in the namespace the functions write to, by the names the code emits.
    expect(namespace).toBe(`k8s-healer/${STAGE}`);
    expect(watched(String(namespace), METRIC.scanFailures)).toHaveLength(1);
    expect(watched(String(namespace), METRIC.requestFailures)).toHaveLength(1);
    expect(watched(String(namespace), METRIC.modelFallbacks, ['Reason', 'budget-spent'])).toHaveLength(1);
    expect(watched(String(namespace), METRIC.decisions, ['Rule', 'circuit-breaker'])).toHaveLength(1);
    for (const f of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) expect(fn(f).Environment.Variables.HEALER_METRICS_NAMESPACE, f).toBe(namespace);
    // A page that could not be published, of any severity the code sends, in one alarm (metric math).
    type Query = { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] } } };
    const failures = alarms.filter((a) => ((a as { Metrics?: Query[] }).Metrics ?? []).some((q) => q.MetricStat?.Metric.MetricName === METRIC.notificationFailures));
    expect(failures).toHaveLength(1);
    const queries = (failures[0] as { Metrics?: Query[] } | undefined)?.Metrics ?? [];
    const severities = queries.flatMap((q) => (q.MetricStat && q.MetricStat.Metric.Namespace === namespace ? q.MetricStat.Metric.Dimensions.filter((d) => d.Name === 'Severity').map((d) => d.Value) : [])).sort();
    const severitiesSent: readonly Notification['severity'][] = ['critical', 'info', 'warning'];
    expect(severities).toEqual(severitiesSent);
    const returned = queries.filter((q) => q.ReturnData !== false);
    expect(returned.map((q) => q.Expression)).toEqual([queries.filter((q) => q.MetricStat).map((q) => `FILL(${q.Id}, 0)`).join(' + ')]);
    // ... and every alarm pages, and says when it is over.
    expect(alarms).toHaveLength(16);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, alarm.id).toEqual([{ Ref: 'OnCallTopic' }]);
      expect(alarm.OKActions, alarm.id).toEqual([{ Ref: 'OnCallTopic' }]);
    }
  });

  it('encrypts the topic with a customer-managed key that CloudWatch alarms and the paging roles can use', () => {
    // Prepare
    type KeyStatement = Statement & { Principal: { Service?: string; AWS?: unknown } };
    const key = resource('OnCallKey');
    const statements = (key.Properties as { KeyPolicy: { Statement: KeyStatement[] } }).KeyPolicy.Statement;

    // Assess: the topic uses this key, which rotates and outlives the stack.
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(resource('OnCallTopic').Properties?.KmsMasterKeyId).toEqual({ Ref: 'OnCallKey' });
    // CloudWatch may encrypt for the topic (only for this account's alarms) ...
    const cloudwatch = statements.find((st) => st.Effect === 'Allow' && st.Principal.Service === 'cloudwatch.amazonaws.com');
    expect(actions(cloudwatch as Statement).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cloudwatch?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
    // ... and the account's IAM policies take effect, so the paging roles' SNS-only grant does.
    expect(statements.some((st) => st.Effect === 'Allow' && JSON.stringify(st.Principal.AWS).includes(':root'))).toBe(true);
    for (const name of ['remediate', 'approve', 'deadLetter'] as const) {
      const grant = statementsOf(name).find((st) => st.Effect === 'Allow' && actions(st).includes('kms:GenerateDataKey*'));
      expect(grant?.Condition, name).toEqual({ StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'sns.${AWS::Region}.amazonaws.com' } } });
    }
  });

  it('has a dashboard of the healer\'s metrics, JSON logs, and no VPC by default', () => {
    // Prepare
    const body = (resource('HealerDashboard').Properties?.DashboardBody as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];

    // Act: the body is JSON once CloudFormation substitutes it.
    const widgets = (JSON.parse(body[0].replace(/\$\{[^}]+\}/g, 'x')) as { widgets: { type: string }[] }).widgets;

    // Assess
    expect(widgets.filter((w) => w.type === 'metric').length).toBeGreaterThanOrEqual(8);
    for (const metric of [METRIC.incidents, METRIC.decisions, METRIC.actions, METRIC.pages, METRIC.verifications, METRIC.modelCostUsd, METRIC.scanDuration, METRIC.scanRequests]) {
      expect(body[0], metric).toContain(metric);
    }
    expect(body[1]).toMatchObject({ Ns: `k8s-healer/${STAGE}` });
    for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
      const props = fn(name) as FunctionProperties & { LoggingConfig?: unknown; VpcConfig?: unknown };
      expect(props.LoggingConfig, name).toEqual({ LogFormat: 'JSON' });
      expect(props.VpcConfig, name).toBeUndefined();
      expect((resource(props.Role['Fn::GetAtt'][0]).Properties as unknown as RoleProperties).ManagedPolicyArns, name).toBeUndefined();
    }
  });

  it('ships an Alertmanager receiver example that Alertmanager accepts', async (ctx) => {
    // Prepare
    const example = join(repoRoot, 'infra', 'alertmanager-receiver.example.yml');
    const amtool = ['/usr/bin/amtool', '/usr/local/bin/amtool'].find((p) => existsSync(p));
    if (amtool === undefined) {
      if (process.env.CI === 'true') throw new Error('amtool not found; run scripts/setup-tools.sh (prometheus-alertmanager)');
      ctx.skip('amtool not found (Debian package prometheus-alertmanager)');
      return;
    }

    // Act
    const result = await run(amtool, ['check-config', example], { cwd: repoRoot, env: process.env, timeoutMs: 30_000 });
    const text = readFileSync(example, 'utf8');

    // Assess
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(text).toMatch(/url: https:\/\/\S+\/alerts\n/);
    expect(text).toMatch(/send_resolved: true/);
    expect(text).toMatch(/type: Bearer\s+credentials_file: \S+/);
    expect(text).toMatch(/max_alerts: \d+/);
    expect(text).toContain('KubePodCrashLooping');
  });
});

describe('osls package with a stage VPC (private cluster)', () => {
  const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
  const SECURITY_GROUP = 'sg-0123456789abcdef0';
  let serviceDir = '';
  let outDir = '';
  let template: Template;

  beforeAll(async () => {
    // Prepare + Act: the stage parameters an operator sets for a private cluster.
    ({ serviceDir, outDir, template } = await packageInTemp(['--param=vpc=on', `--param=vpcSubnetIds=${SUBNETS.join(',')}`, `--param=vpcSecurityGroupIds=${SECURITY_GROUP}`]));
  }, 150_000);

  afterAll(() => {
    if (serviceDir !== '') rmSync(serviceDir, { recursive: true, force: true });
  });

  it('passes cfn-lint', async (ctx) => {
    await cfnLint(ctx, outDir, serviceDir);
  }, 180_000);

  it('puts only the functions that reach the cluster in the VPC, and gives only their roles the ENI permissions', () => {
    // Prepare
    const props = (name: keyof typeof FUNCTIONS) => template.Resources[FUNCTIONS[name].logicalId]?.Properties as unknown as FunctionProperties & { VpcConfig?: unknown };
    const managed = (name: keyof typeof FUNCTIONS) => (template.Resources[props(name).Role['Fn::GetAtt'][0]]?.Properties as unknown as RoleProperties).ManagedPolicyArns;
    const eni = [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' }];

    // Assess
    for (const name of ['scan', 'remediate', 'approve'] as const) {
      expect(props(name).VpcConfig, name).toEqual({ SubnetIds: { 'Fn::Split': [',', SUBNETS.join(',')] }, SecurityGroupIds: { 'Fn::Split': [',', SECURITY_GROUP] } });
      expect(managed(name), name).toEqual(eni);
    }
    for (const name of ['webhook', 'deadLetter'] as const) {
      expect(props(name).VpcConfig, name).toBeUndefined();
      expect(managed(name), name).toBeUndefined();
    }
  });
});
