/**
 * `k8s-healer`: the operator's CLI. Exit codes: 0 done, 1 failed or unhealthy, 2 bad usage or
 * input (nothing was done). Reads the local run (`.healer-local/session.json`) or, with
 * `--stage`, a deployed stage through the usual AWS credentials.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { parseOutput, type OutputFormat } from './output.js';
import { CommandFailed, localDir, resolveTarget, UsageError } from './target.js';
import { listIncidents, showAudit, showIncident, writeReport, type FilterOptions } from './incidents.js';
import { setPaused } from './kill-switch.js';
import { answerApproval, approvalRequest } from './approval.js';
import { rbacManifests } from './rbac.js';
import { doctor } from './doctor.js';
import { replay } from './replay.js';
import { scanOnce } from './scan.js';
import { HEALER_VERSION } from '../version.js';


const outputOption = () => new Option('-o, --output <format>', 'table or json').default('table').argParser(parseOutput);
const stageOption = () => new Option('--stage <name>', 'a deployed stage (AWS credentials); default: the local run');
const filterOptions = (c: Command) => c
  .option('-n, --namespace <namespace>', 'only this namespace')
  .option('--outcome <outcome>', 'acted, dry-run, paged, no-action, already-healthy, duplicate, action-failed, awaiting-approval')
  .option('--since <when>', 'ISO time, or 30m / 24h / 7d ago (default 7d)')
  .option('--limit <n>', 'at most this many incidents (default 100)');

/** Local runs: point the AWS SDK at the session's DynamoDB Local, as the local run itself does. */
function useLocalSession(): void {
  try {
    const session = JSON.parse(readFileSync(`${localDir()}/session.json`, 'utf8')) as { dynamoEndpoint?: string; auditTable?: string; stateTable?: string; kubeconfig?: string };
    if (session.dynamoEndpoint) {
      process.env.AWS_ENDPOINT_URL_DYNAMODB ??= session.dynamoEndpoint;
      process.env.AWS_REGION ??= 'us-east-1';
      process.env.AWS_ACCESS_KEY_ID ??= 'local';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    }
    if (session.auditTable) process.env.HEALER_AUDIT_TABLE ??= session.auditTable;
    if (session.stateTable) process.env.HEALER_STATE_TABLE ??= session.stateTable;
    if (session.kubeconfig) process.env.KUBECONFIG ??= session.kubeconfig;
  } catch {
    // No local run: the environment says where things are.
  }
}

export function buildProgram(): Command {
  const program = new Command('k8s-healer')
    .description('Self-healing for Kubernetes: look at incidents, pause the healer, answer approvals, check a set-up.')
    .version(HEALER_VERSION, '-v, --version')
    .showHelpAfterError()
    .exitOverride();

  program.command('serve').description('run the whole healer on this machine (what `npm start` runs)')
    .option('--yes', 'act live even as a cluster admin on a cluster it did not start')
    .action(async () => {
      await import('../../scripts/local-healer.js');
      await new Promise<never>(() => undefined); // the local run ends the process itself (Ctrl-C)
    });

  program.command('scan').description('scan the cluster once (KUBECONFIG) and print the incidents it would raise; changes nothing')
    .option('--cluster <name>', 'with several clusters configured (HEALER_CLUSTERS): the one being scanned (default: HEALER_CLUSTER_NAME)')
    .option('--context <name>', 'the kubeconfig context that reaches it (default: the current context)')
    .addOption(outputOption())
    .action(async (o: { output: OutputFormat; cluster?: string; context?: string }) => {
      useLocalSession();
      await scanOnce(o);
    });

  program.command('replay').description('what the healer would do with an Alertmanager webhook payload; changes nothing')
    .argument('<file>', 'an Alertmanager webhook body (JSON)')
    .option('--no-cluster', 'only the intake: do not read the cluster')
    .addOption(outputOption())
    .action(async (file: string, o: { cluster: boolean; output: OutputFormat }) => {
      useLocalSession();
      await replay(file, o);
    });

  filterOptions(program.command('incidents').description('recent incidents, newest first (a Query on the incidents index)'))
    .addOption(stageOption()).addOption(outputOption())
    .action((o: FilterOptions & { stage?: string; output: OutputFormat }) => listIncidents(resolveTarget(o), o));

  program.command('show').description("one incident's timeline")
    .argument('<incident>', 'incident id')
    .addOption(stageOption()).addOption(outputOption())
    .action((id: string, o: { stage?: string; output: OutputFormat }) => showIncident(resolveTarget(o), id, o));

  filterOptions(program.command('audit').description('audit entries: of one incident, or of the recent incidents matching the filters'))
    .argument('[incident]', 'incident id')
    .option('--step <step>', 'only this step (intake, evidence, diagnosis, decision, action, verification, approval, notification, outcome)')
    .addOption(stageOption()).addOption(outputOption())
    .action((incident: string | undefined, o: FilterOptions & { step?: string; stage?: string; output: OutputFormat }) => showAudit(resolveTarget(o), { ...o, ...(incident ? { incident } : {}) }));

  filterOptions(program.command('report').description('write the incident view (list and timelines) as one static HTML file'))
    .requiredOption('--out <file>', 'where to write the HTML')
    .addOption(stageOption())
    .action((o: FilterOptions & { out: string; stage?: string }) => writeReport(resolveTarget(o), o));

  program.command('pause').description('turn the kill switch on: no action is taken until resume')
    .addOption(stageOption())
    .action((o: { stage?: string }) => setPaused(resolveTarget(o), true));
  program.command('resume').description('turn the kill switch off')
    .addOption(stageOption())
    .action((o: { stage?: string }) => setPaused(resolveTarget(o), false));

  for (const decision of ['approve', 'reject'] as const) {
    program.command(decision)
      .description(decision === 'approve'
        ? 'approve a proposed action (the approve function re-checks the policy on the live cluster, then acts)'
        : 'reject a proposed action: recorded, and the approval ends')
      .argument('<link>', 'the approval link from the page (or its token, for the local run)')
      .option('--as <name>', 'who you are, recorded with the decision', userInfo().username)
      .action(async (link: string, o: { as: string }) => {
        let target;
        try {
          target = resolveTarget({});
        } catch {
          target = undefined;
        }
        await answerApproval(approvalRequest(link, target), decision, o.as);
      });
  }

  program.command('rbac').description("print the healer's Kubernetes RBAC and admission policy manifests (kubectl apply -f -)")
    .action(() => {
      process.stdout.write(`${rbacManifests()}\n`);
    });

  program.command('doctor').description('check configuration, tables, kill switch, cluster and identity; exit 1 when anything fails')
    .addOption(stageOption()).addOption(outputOption())
    .action(async (o: { stage?: string; output: OutputFormat }) => {
      let target;
      try {
        target = resolveTarget(o);
      } catch (error) {
        target = error instanceof Error ? error : new Error(String(error));
      }
      if (o.stage === undefined) useLocalSession();
      const { findBinaries } = await import('../local/control-plane.js');
      const checks = await doctor(target, { output: o.output, local: o.stage === undefined, binaries: findBinaries });
      if (checks.some((c) => !c.ok)) throw new CommandFailed('');
    });

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      process.stderr.write(`k8s-healer: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CommandFailed) {
      if (error.message) process.stderr.write(`k8s-healer: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`k8s-healer: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
