/**
 * `npm start`: the healer on this machine, with embedded defaults.
 *   - cluster: KUBECONFIG (or ~/.kube/config); with none, the project's local control plane
 *   - state and audit: DynamoDB Local (or AWS_ENDPOINT_URL_DYNAMODB when set)
 *   - notifications: the console, or SNS when HEALER_TOPIC_ARN is set
 *   - diagnosis: runbook rules, or Claude when ANTHROPIC_API_KEY is set
 *   - dry-run unless HEALER_DRY_RUN=false; on the control plane it starts itself (a throwaway
 *     cluster) it acts live and runs a demo, unless HEALER_DRY_RUN / HEALER_LOCAL_DEMO say otherwise
 *   - on a cluster it did not start: prints the context and identity, and will not act live as a
 *     cluster admin without --yes (HEALER_YES=true)
 *   - approvals: links to this process's own /approve, signed with a key made at start
 *   - verification: delayed re-checks on timers instead of SQS delay
 * Serves the Alertmanager webhook on 127.0.0.1, runs the scan every HEALER_LOCAL_SCAN_SECONDS.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../lib/config/config.js';
import { skipLines, webhookEntry } from '../lib/wiring/webhook.js';
import { workerEntry } from '../lib/wiring/worker-entry.js';
import { scanEntry } from '../lib/wiring/scan.js';
import { approvalEntry } from '../lib/wiring/approve.js';
import { notifierFrom } from '../lib/wiring/notifier.js';
import { stateStore } from '../lib/wiring/common.js';
import { InProcessQueue } from '../lib/local/in-process-queue.js';
import { serveHttpApi, type HttpApiHandler } from '../lib/local/http-api.js';
import { localQueueRoute } from '../lib/local/queue-route.js';
import type { VerificationScheduler } from '../lib/ports/index.js';
import { createTables, localAws, startDynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureBinaries, findBinaries, startControlPlane, type ControlPlane } from '../lib/local/control-plane.js';
import { KubeConfig } from '@kubernetes/client-node';
import { machineFacts, missingPrerequisites, prerequisiteReport, type StartPlan } from '../lib/local/prerequisites.js';
import { actingIdentity, CONFIRM_ENV, CONFIRM_FLAG, describeIdentity, liveRunRefusal } from '../lib/local/acting-identity.js';
import { incidentStory } from '../lib/local/console-story.js';
import { crashLoopAlertPayload } from '../lib/local/try-it.js';
import { startDemoWorkload, type DemoWorkload } from './demo-workload.js';
import { incidentViewRoutes } from '../lib/local/incident-routes.js';
import { FileKillSwitch } from '../lib/local/file-kill-switch.js';
import { DynamoIncidentQueries } from '../lib/adapters/dynamo-incident-queries.js';
import { dynamoDbClient } from '../lib/adapters/aws-clients.js';

const LOCAL_DIR = process.env.HEALER_LOCAL_DIR ?? join(process.cwd(), '.healer-local');
const SESSION_FILE = join(LOCAL_DIR, 'session.json');
const TRY_IT_FILE = join(LOCAL_DIR, 'try-it.json');
const say = (line: string) => process.stderr.write(`[healer] ${line}\n`);
const stops: (() => Promise<void>)[] = [];
/** The worker's log lines, on this console: what went wrong, in words; routine lines stay quiet (the story says it). */
const localLog = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) => {
  if (level !== 'info') say(`${message}${typeof fields['error'] === 'string' ? `: ${fields['error']}` : ''}`);
};

/** KUBECONFIG, else ~/.kube/config; an empty KUBECONFIG= means "no cluster: start our own". */
function givenKubeconfig(): string | undefined {
  if (process.env.KUBECONFIG !== undefined) return process.env.KUBECONFIG || undefined;
  return existsSync(join(homedir(), '.kube', 'config')) ? join(homedir(), '.kube', 'config') : undefined;
}

/** Every prerequisite, checked before anything long starts; all gaps reported at once. */
function checkPrerequisites(kubeconfig: string | undefined): StartPlan {
  const facts = machineFacts({ ...(kubeconfig ? { kubeconfig } : {}), binaries: kubeconfig ? { ok: false, reason: 'not needed' } : findBinaries() });
  const { missing, plan } = missingPrerequisites(facts);
  if (!plan) throw new Error(prerequisiteReport(missing));
  return plan;
}

/** The cluster to use: the one given, or a control plane of our own (built on first use). */
async function ensureCluster(kubeconfig: string | undefined, plan: StartPlan): Promise<{ kubeconfig: string; own?: ControlPlane }> {
  if (kubeconfig) {
    say(`cluster: ${kubeconfig}`);
    return { kubeconfig };
  }
  say(`no KUBECONFIG and no ~/.kube/config: starting the local control plane${plan.cluster === 'build-binaries' ? ' (first run: building it from the Go module proxy, about 10 minutes on 2 cores)' : ''}`);
  await ensureBinaries();
  const cp = await startControlPlane({ log: (l) => say(l) });
  stops.push(() => cp.stop());
  say(`local control plane up; admin kubeconfig: ${cp.adminKubeconfigPath}`);
  say(`the healer itself uses the scoped identity from infra/rbac.yaml: ${cp.healerKubeconfigPath}`);
  return { kubeconfig: cp.healerKubeconfigPath, own: cp };
}

/** On a cluster we did not start: say who we will act as, and refuse to act live as an admin unasked. */
async function confirmActingIdentity(kubeconfig: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const identity = await actingIdentity(kc);
  say(describeIdentity(identity));
  const confirmed = process.argv.includes(CONFIRM_FLAG) || /^(1|true|yes)$/i.test(process.env[CONFIRM_ENV] ?? '');
  const refusal = liveRunRefusal({ dryRun: loadConfig().settings.policy.dryRun, identity, confirmed });
  if (refusal) throw new Error(refusal);
}

async function ensureDynamo(): Promise<void> {
  Object.assign(process.env, {
    AWS_REGION: process.env.AWS_REGION ?? localAws().region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? localAws().credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? localAws().credentials.secretAccessKey,
  });
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    say(`DynamoDB: ${process.env.AWS_ENDPOINT_URL_DYNAMODB}`);
    return;
  }
  say('starting DynamoDB Local');
  const dynamo = await startDynamoDbLocal();
  stops.push(() => dynamo.stop());
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  const config = loadConfig();
  await createTables(dynamo.client(), { state: config.stateTable, audit: config.auditTable });
  say(`DynamoDB Local: ${dynamo.endpoint} (in memory; gone when the healer stops)`);
}

async function main(): Promise<void> {
  const given = givenKubeconfig();
  const plan = checkPrerequisites(given);
  if (given) await confirmActingIdentity(given);
  const { kubeconfig, own } = await ensureCluster(given, plan);
  process.env.KUBECONFIG = kubeconfig;
  const demo = demoWanted(own !== undefined);
  if (own && demo) {
    // A throwaway cluster of our own: act live and re-check soon, so the demo heals within a minute.
    process.env.HEALER_DRY_RUN ??= 'false';
    process.env.HEALER_VERIFY_DELAY_SECONDS ??= '10';
    process.env.HEALER_LOCAL_SCAN_SECONDS ??= '15';
  }
  await ensureDynamo();
  const token = process.env.HEALER_WEBHOOK_TOKEN ?? randomBytes(24).toString('base64url');
  process.env.HEALER_WEBHOOK_TOKEN = token;
  // The server first, so approval links can name it; its routes are filled in below.
  const routes: Record<string, HttpApiHandler> = {};
  const server = await serveHttpApi(routes, { port: Number(process.env.HEALER_LOCAL_PORT ?? 0) });
  stops.unshift(() => server.close());
  process.env.HEALER_APPROVAL_URL ??= `${server.url}/approve`;
  process.env.HEALER_APPROVAL_KEY ??= randomBytes(32).toString('hex');
  const config = loadConfig();

  // Verification re-checks on timers: the local stand-in for SQS DelaySeconds.
  const timers = new Set<NodeJS.Timeout>();
  stops.unshift(() => {
    for (const t of timers) clearTimeout(t);
    return Promise.resolve();
  });
  const verifications: VerificationScheduler = {
    scheduleVerification(request, delaySeconds) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        worker.handleMessage({ kind: 'verify', request }, delivery())
          .then(({ verification: result }) => say(`verified   incident ${request.incidentId} (check ${request.attempt}): ${result === undefined ? 'failed (see above)' : typeof result === 'string' ? result : `${result.status}, ${result.detail}`}`))
          .catch((error: unknown) => say(`verification of incident ${request.incidentId} failed: ${String(error)}`));
      }, delaySeconds * 1000);
      timers.add(timer);
      return Promise.resolve();
    },
  };
  // The runtime kill switch: SSM when a parameter is configured, else a file `k8s-healer pause` flips.
  const killSwitchFile = join(LOCAL_DIR, 'kill-switch');
  const fileKillSwitch = config.killSwitchParam ? undefined : new FileKillSwitch(killSwitchFile);
  mkdirSync(LOCAL_DIR, { recursive: true });
  await fileKillSwitch?.set(false);
  // The local run serves one cluster (the default kubeconfig's); a registry of several is the stack's job.
  if (config.clusters.length > 1) throw new Error(`the local run serves one cluster; HEALER_CLUSTERS lists ${config.clusters.length}`);
  // The same wiring as the Lambda functions (lib/wiring/*-entry, scan, approve, webhook), with the
  // local stand-ins: verification timers, the file kill switch, the in-process queue.
  const local = { verifications, ...(fileKillSwitch ? { killSwitch: fileKillSwitch } : {}) };
  const worker = workerEntry(config, { ...local, log: localLog });
  // Built now, not at the first message: a cluster or key that cannot be set up stops the start.
  await worker.depsFor(config.clusterName);
  const delivery = () => ({ messageId: randomBytes(8).toString('hex'), receives: 1, lastReceive: Number.POSITIVE_INFINITY });
  const queue = new InProcessQueue(
    async (incident) => {
      const handled = await worker.handleMessage({ kind: 'incident', incident }, delivery());
      if (!handled.ok || !handled.report) throw new Error('not handled (see above); retrying');
      for (const line of incidentStory(incident, handled.report)) say(line);
    },
    { onError: (incident, error, attempt) => say(`incident ${incident.id} failed (attempt ${attempt}): ${String(error)}`) },
  );
  const state = stateStore(config);
  const approveRequest = approvalEntry(config, local);
  const intake = webhookEntry(config, { state, queue });

  const approve: HttpApiHandler = async (event) => {
    const response = await approveRequest({
      method: event.requestContext.http.method,
      query: event.queryStringParameters ?? {},
      headers: event.headers,
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
      sourceIp: event.requestContext.http.sourceIp,
      userAgent: event.requestContext.http.userAgent,
    });
    say(`approval ${event.requestContext.http.method}: ${response.statusCode}`);
    return response;
  };
  // Where the worker reads its messages: what SQS SendMessage would deliver on AWS.
  routes['POST /queue'] = localQueueRoute({
    token,
    enqueue: (incident) => queue.enqueue([incident]),
    verify: async (request) => (await worker.handleMessage({ kind: 'verify', request }, delivery())).verification ?? 'failed',
    say,
  });
  routes['GET /approve'] = approve;
  Object.assign(routes, incidentViewRoutes(new DynamoIncidentQueries({ tableName: config.auditTable, client: dynamoDbClient() })));
  routes['POST /approve'] = approve;
  Object.assign(routes, {
    'POST /alerts': (async (event) => {
      const result = await intake({ headers: event.headers, body: event.body, isBase64Encoded: event.isBase64Encoded }, Date.now());
      if (result.report) {
        say(`webhook: ${result.report.enqueued} enqueued, ${result.report.duplicates} duplicate(s), ${result.report.skipped.length} skipped`);
        for (const reason of skipLines(result.report)) say(`  skipped: ${reason}`);
      } else {
        say(`webhook: ${result.statusCode} ${result.body}`);
      }
      return { statusCode: result.statusCode, headers: { 'content-type': 'application/json' }, body: result.body };
    }) satisfies HttpApiHandler,
  });

  const scanSeconds = Number(process.env.HEALER_LOCAL_SCAN_SECONDS ?? 60);
  const scanAll = scanEntry(config, { state, queue, notifier: notifierFrom(config) });
  const scan = async () => {
    try {
      for (const result of await scanAll()) {
        if (!result.ok) {
          say(`scan failed: ${result.error}`);
          continue;
        }
        const { report } = result;
        if (report.enqueued > 0 || report.duplicates > 0) say(`scan: ${report.enqueued} new incident(s), ${report.duplicates} already known`);
        if (report.gaps.length > 0) say(`scan could not read: ${report.gaps.join('; ')}`);
      }
    } catch (error) {
      say(`scan failed: ${String(error)}`);
    }
  };
  const timer = scanSeconds > 0 ? setInterval(() => void scan(), scanSeconds * 1000) : undefined;
  stops.unshift(() => {
    clearInterval(timer);
    return Promise.resolve();
  });
  void scan();

  mkdirSync(LOCAL_DIR, { recursive: true });
  let workload: DemoWorkload | undefined;
  if (own && demo) {
    say(`demo: making ${'healer-demo/orders-api'}, a Deployment whose first pod crash-loops on a refused database connection (pods made after it start cleanly)`);
    workload = await startDemoWorkload(own, { recoverAfterSeconds: 5 });
    writeFileSync(TRY_IT_FILE, JSON.stringify(crashLoopAlertPayload({ namespace: workload.namespace, pod: workload.pod, container: workload.container, startsAt: new Date() }), null, 2));
    say(`demo: pod ${workload.namespace}/${workload.pod} is crash-looping; the scan finds it within ${scanSeconds} s (or post the alert below)`);
  }
  writeFileSync(SESSION_FILE, JSON.stringify({
    pid: process.pid,
    webhookUrl: `${server.url}/alerts`,
    dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
    auditTable: config.auditTable,
    stateTable: config.stateTable,
    kubeconfig,
    approveUrl: `${server.url}/approve`,
    ...(fileKillSwitch ? { killSwitchFile } : { killSwitchParam: config.killSwitchParam }),
  }, null, 2), { mode: 0o600 });

  say('');
  say(`webhook URL:   ${server.url}/alerts`);
  say(`webhook token: ${token}${config.webhookBasicAuth ? ` (or basic auth as ${config.webhookBasicAuth.split(':')[0] ?? ''}, HEALER_WEBHOOK_BASIC_AUTH)` : ''}`);
  const mapped = Object.keys(config.settings.intake.alertMappings);
  if (mapped.length > 0) say(`alert mappings: ${mapped.join(', ')} (HEALER_ALERT_MAPPINGS, over the defaults)`);
  say(`mode:          ${config.settings.policy.dryRun ? 'DRY RUN (set HEALER_DRY_RUN=false to act)' : 'LIVE: allowed fixes are applied'}`);
  say(`diagnosis:     ${config.anthropicApiKey ? `Claude (${config.settings.model.name}) with runbook fallback` : 'runbook rules (set ANTHROPIC_API_KEY for Claude)'}`);
  say(`notifications: ${config.topicArn ? `SNS ${config.topicArn}` : 'this console'}`);
  say(`approvals:     links to ${config.approvalUrl ?? '(none)'} (cordon-node${config.settings.approval.actions.length > 0 ? `, ${config.settings.approval.actions.join(', ')}` : ''}); verification re-checks every ${config.settings.budgets.verifyDelaySeconds} s`);
  say(`queue:         ${server.url}/queue (the worker's queue: POST a message body as SQS would deliver it, same token)`);
  say(`incidents:     ${server.url}/incidents   (the incident view: list, filters, each timeline)`);
  say(`pause:         npx k8s-healer pause   (the kill switch${fileKillSwitch ? `: ${killSwitchFile}` : `: SSM ${config.killSwitchParam ?? ''}`}; resume with npx k8s-healer resume)`);
  say(`audit trail:   npm run audit   (JSON; npm run audit -- <incident-id> for one incident)`);
  if (workload) {
    say(`try it:        curl -H "Authorization: Bearer ${token}" -H 'content-type: application/json' --data @${TRY_IT_FILE} ${server.url}/alerts`);
    say(`               (KubePodCrashLooping for pod ${workload.namespace}/${workload.pod}, as Alertmanager would send it)`);
  } else {
    say(`try it:        point Alertmanager at the webhook URL (docs/operations.md), or post a payload naming one of your pods:`);
    say(`               curl -H "Authorization: Bearer ${token}" -H 'content-type: application/json' --data @<alertmanager.json> ${server.url}/alerts`);
  }
  say('Ctrl-C stops everything this started.');
}

/** The demo runs only on a control plane we started; HEALER_LOCAL_DEMO=false turns it off there. */
function demoWanted(ownCluster: boolean): boolean {
  const asked = process.env.HEALER_LOCAL_DEMO;
  if (!ownCluster) {
    if (asked && /^(1|true|yes)$/i.test(asked)) say('HEALER_LOCAL_DEMO ignored: the demo only runs on the control plane the healer starts itself');
    return false;
  }
  return asked === undefined || !/^(0|false|no)$/i.test(asked);
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping');
  for (const stop of stops) await stop().catch((e: unknown) => say(`stop failed: ${String(e)}`));
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().catch(async (error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
});
