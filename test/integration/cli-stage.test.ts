import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import type { AuditEntry } from '../../lib/domain/types.js';
import { createTables, dynamoDbLocalUnavailable, localAws, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { motoUnavailable, startMoto, type Moto } from '../support/moto.js';
import { mustRun } from '../support/process.js';
import { cli, type CliResult } from '../support/local-run.js';
import { controlPlaneAvailable, currentCluster } from '../support/control-plane.js';

/**
 * `k8s-healer --stage <name>` as an operator runs it against a deployed stage: the stage's tables
 * (named as serverless.yml names them) on DynamoDB Local, its kill-switch parameter on moto's SSM,
 * reached through the AWS endpoint variables the SDK honours.
 */
const unavailable = dynamoDbLocalUnavailable() ?? motoUnavailable();
const STAGE = 'itest';
const KILL_SWITCH = `/k8s-healer/${STAGE}/kill-switch`;

describe.skipIf(unavailable !== undefined && !mustRun())('the CLI against a deployed stage', () => {
  let dynamo: DynamoDbLocal;
  let moto: Moto;
  let ssm: SSMClient;
  let env: NodeJS.ProcessEnv;
  const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

  const killSwitch = async () => (await ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }))).Parameter?.Value;
  const expectExit = (r: CliResult, code: number) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(code);

  beforeAll(async () => {
    [dynamo, moto] = await Promise.all([startDynamoDbLocal(), startMoto()]);
    await createTables(dynamo.client(), { state: `k8s-healer-${STAGE}-state`, audit: `k8s-healer-${STAGE}-audit` });
    ssm = moto.ssm();
    await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: 'off', Type: 'String', Overwrite: true }));
    await ssm.send(new PutParameterCommand({ Name: `/k8s-healer/${STAGE}/webhook-token`, Value: 'stage-webhook-token-value', Type: 'SecureString', Overwrite: true }));
    for (const name of [`k8s-healer-${STAGE}-incidents`, `k8s-healer-${STAGE}-incidents-dlq`]) await moto.sqs().send(new CreateQueueCommand({ QueueName: name }));
    const aws = localAws();
    env = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_ENDPOINT_URL_SQS: moto.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      // No local run here: --stage must not need one.
      HEALER_LOCAL_DIR: join(tmpdir(), 'no-local-run-here'),
    };
    // Prepare: one incident's trail in the stage's audit table, a page with a secret in its log.
    const audit = new DynamoAuditLog({ tableName: `k8s-healer-${STAGE}-audit`, client: dynamo.client() });
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
    const trail: AuditEntry[] = [
      { incidentId: id, at: at(0), cluster: 'prod', step: 'intake', detail: { source: 'alertmanager', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'shop', name: 'web-1' }, alertname: 'KubePodCrashLooping' } },
      { incidentId: id, at: at(1), cluster: 'prod', step: 'evidence', detail: { containers: [{ name: 'web', previousLogTail: 'login with password=Sup3rSecretPw failed' }] } },
      { incidentId: id, at: at(2), cluster: 'prod', step: 'decision', detail: { allowed: false, deniedBy: 'cooldown', reason: 'acted 5 min ago', verdicts: [{ rule: 'cooldown', reason: 'acted 5 min ago' }] } },
      { incidentId: id, at: at(3), cluster: 'prod', step: 'outcome', outcome: 'paged', detail: { outcome: 'paged' } },
    ];
    for (const e of trail) await audit.append(e);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([dynamo?.stop(), moto?.stop()]);
  });

  it('pauses and resumes through the stage\'s SSM parameter', async () => {
    const paused = await cli(['pause', '--stage', STAGE], env);
    expectExit(paused, 0);
    expect(await killSwitch()).toBe('on');
    expect(paused.stdout).toContain(`SSM ${KILL_SWITCH}`);
    expectExit(await cli(['resume', '--stage', STAGE], env), 0);
    expect(await killSwitch()).toBe('off');
  });

  it('lists and shows the stage\'s incidents', async () => {
    const listed = await cli(['incidents', '--stage', STAGE, '--outcome', 'paged', '-o', 'json'], env);
    expectExit(listed, 0);
    expect((JSON.parse(listed.stdout) as { id: string; cluster: string }[]).map((s) => [s.id, s.cluster])).toEqual([[id, 'prod']]);
    const shown = await cli(['show', id, '--stage', STAGE], env);
    expect(shown.stdout).toMatch(/Policy\s+denied by cooldown: acted 5 min ago/);
  });

  it('writes the incident view as one static, redacted HTML report', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'healer-report-')), 'report.html');
    const written = await cli(['report', '--stage', STAGE, '--out', out], env);
    expectExit(written, 0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain(`href="#incident-${id}"`);
    expect(html).toContain(`id="incident-${id}"`);
    expect(html).toContain('denied by cooldown');
    expect(html).not.toContain('Sup3rSecretPw');
    expect(html).not.toMatch(/<script/i);
  });

  it('runs the doctor on the stage', async () => {
    const doctor = await cli(['doctor', '--stage', STAGE, '-o', 'json'], env);
    expectExit(doctor, 0);
    expect((JSON.parse(doctor.stdout) as { name: string; ok: boolean }[]).filter((c) => !c.ok)).toEqual([]);
    // A stage that does not exist fails the doctor, with the fix.
    const missing = await cli(['doctor', '--stage', 'nowhere'], env);
    expectExit(missing, 1);
    expect(missing.stdout).toContain('FAIL audit table: k8s-healer-nowhere-audit');
  });

  it.skipIf(!controlPlaneAvailable())('asks the cluster what the stage\'s worker identity may do, from its kubeconfig parameter', async () => {
    // Prepare: the worker's kubeconfig parameter holds the healer's identity, then an admin's.
    const kubeconfig = `/k8s-healer/${STAGE}/kubeconfig`;
    const put = (file: string) => ssm.send(new PutParameterCommand({ Name: kubeconfig, Value: readFileSync(file, 'utf8'), Type: 'SecureString', Overwrite: true }));
    const identity = async () => (JSON.parse((await cli(['doctor', '--stage', STAGE, '-o', 'json'], env)).stdout) as { name: string; ok: boolean; detail: string }[]).find((c) => c.name === 'identity access');
    try {
      // Act
      await put(currentCluster().healerKubeconfigPath);
      const scoped = await identity();
      await put(currentCluster().adminKubeconfigPath);
      const admin = await identity();

      // Assess
      expect(scoped?.ok).toBe(true);
      expect(scoped?.detail).toContain('every verb of infra/rbac.yaml allowed, the forbidden sample denied');
      expect(admin?.ok).toBe(false);
      expect(admin?.detail).toContain('allowed what no healer may do: get secrets, list secrets, create pods/exec');
      // The parameter's credentials stay in memory: not one character of the token is printed.
      const token = /token: (\S+)/.exec(readFileSync(currentCluster().healerKubeconfigPath, 'utf8'))?.[1] ?? 'no token found';
      expect(token.length).toBeGreaterThan(20);
      expect(JSON.stringify([scoped, admin])).not.toContain(token);
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: kubeconfig }));
    }
  });

  it('checks each registry entry\'s parameters when HEALER_CLUSTERS names several clusters, naming what is absent', async () => {
    // Prepare: prod-eu's three parameters stored; prod-us's webhook token never was.
    const at = (cluster: string, name: string) => `/k8s-healer/${STAGE}/clusters/${cluster}/${name}`;
    const registry = ['prod-eu', 'prod-us'].map((name) => ({ name, kubeconfigParam: at(name, 'kubeconfig'), scanKubeconfigParam: at(name, 'scan-kubeconfig'), webhookTokenParam: at(name, 'webhook-token') }));
    const stored = [at('prod-eu', 'kubeconfig'), at('prod-eu', 'scan-kubeconfig'), at('prod-eu', 'webhook-token'), at('prod-us', 'kubeconfig'), at('prod-us', 'scan-kubeconfig')];
    for (const name of stored) await ssm.send(new PutParameterCommand({ Name: name, Value: 'secret-value-never-printed', Type: 'SecureString', Overwrite: true }));
    try {
      // Act
      const doctor = await cli(['doctor', '--stage', STAGE], { ...env, HEALER_CLUSTERS: JSON.stringify(registry), HEALER_CLUSTER_NAME: 'prod-eu' });

      // Assess
      expectExit(doctor, 1);
      expect(doctor.stdout).toContain(`FAIL cluster parameters: 5 of 6 present for 2 cluster(s); prod-us: ${at('prod-us', 'webhook-token')} absent: its alerts are refused`);
      expect(doctor.stdout).toContain(`fix: aws ssm put-parameter --type SecureString --name ${at('prod-us', 'webhook-token')}`);
      expect(doctor.stdout).not.toContain('secret-value-never-printed');
    } finally {
      for (const name of stored) await ssm.send(new DeleteParameterCommand({ Name: name }));
    }
  });

  it('fails the doctor for a required parameter missing and for dead letters, each with its fix', async () => {
    // Prepare
    const dlq = (await moto.sqs().send(new CreateQueueCommand({ QueueName: `k8s-healer-${STAGE}-incidents-dlq` }))).QueueUrl;
    await moto.sqs().send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: '{"incidentId":"gave-up"}' }));
    await ssm.send(new DeleteParameterCommand({ Name: `/k8s-healer/${STAGE}/webhook-token` }));

    // Act
    const doctor = await cli(['doctor', '--stage', STAGE], env);

    // Assess
    expectExit(doctor, 1);
    expect(doctor.stdout).toMatch(/FAIL parameters: 1 of 6 present under \/k8s-healer\/itest\/; webhook-token absent: the webhook refuses every alert/);
    expect(doctor.stdout).toContain(`fix: aws ssm put-parameter --type SecureString --name /k8s-healer/${STAGE}/webhook-token`);
    expect(doctor.stdout).toMatch(/FAIL dead-letter queue: k8s-healer-itest-incidents-dlq: 1 incident\(s\) the healer gave up on/);
    expect(doctor.stdout).toMatch(/ok   queue: k8s-healer-itest-incidents: 0 waiting, 0 in flight/);
    expect(doctor.stdout).not.toContain('stage-webhook-token-value');
  });

  it('refuses a stage name that is not one, with exit 2', async () => {
    expectExit(await cli(['incidents', '--stage', 'prod;rm -rf /'], env), 2);
  });
});
