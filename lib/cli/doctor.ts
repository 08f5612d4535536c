/**
 * `doctor`: every check a running healer depends on, each with its exact fix: configuration,
 * state and audit tables (and the incidents index), the kill switch, the cluster and the identity
 * the healer acts as, and on this machine the local run's prerequisites. Exit 1 when any fails.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, loadConfig } from '../config/config.js';
import { AUDIT_TABLE } from '../adapters/tables.js';
import { actingIdentity, describeIdentity } from '../local/acting-identity.js';
import { machineFacts, missingPrerequisites } from '../local/prerequisites.js';
import { createSqsClient, createSsmClient } from '../adapters/aws-clients.js';
import { grantedBy, healerManifest, reviewAccess } from './access-review.js';
import { emit, type OutputFormat } from './output.js';
import { accessCheck, checkClusterParameters, checkParameters, checkQueues, checkStageIdentity } from './stage-checks.js';
import type { ClusterEntry } from '../config/clusters.js';
import type { Target } from './target.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

export async function doctor(target: Target | Error, o: { output: OutputFormat; local: boolean; binaries?: () => { ok: true; dir: string } | { ok: false; reason: string } }): Promise<Check[]> {
  const checks: Check[] = [];
  let registry: readonly ClusterEntry[] | undefined;
  try {
    const config = loadConfig();
    // A registry here is the deployed stage's (the same stage param): its parameters are checked too.
    if (process.env.HEALER_CLUSTERS) registry = config.clusters;
    checks.push({ name: 'configuration', ok: true, detail: `cluster "${config.clusterName}", ${config.settings.policy.dryRun ? 'dry run' : 'live'}, diagnosis by ${config.anthropicApiKey || config.anthropicKeyParam ? 'Claude with runbook fallback' : 'runbook rules'}` });
  } catch (error) {
    checks.push({ name: 'configuration', ok: false, detail: message(error), fix: error instanceof ConfigError ? 'correct the HEALER_* variable named above (docs/operations.md lists them)' : 'see the error above' });
  }
  if (target instanceof Error) {
    checks.push({ name: 'state and audit', ok: false, detail: target.message, fix: 'start the local run (k8s-healer serve) or pass --stage <name>' });
  } else {
    for (const [what, table] of [['audit table', target.auditTable], ['state table', target.stateTable]] as const) {
      try {
        const got = await target.dynamo.send(new DescribeTableCommand({ TableName: table }));
        const indexed = what !== 'audit table' || (got.Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === AUDIT_TABLE.incidentsIndex);
        checks.push({ name: what, ok: indexed, detail: `${table}: ${got.Table?.TableStatus ?? '?'}${indexed ? '' : `, without the ${AUDIT_TABLE.incidentsIndex} index`}`, ...(indexed ? {} : { fix: 'deploy this version (serverless deploy) to add the index' }) });
      } catch (error) {
        checks.push({ name: what, ok: false, detail: `${table}: ${message(error)}`, fix: 'check AWS credentials and region (or that the local run is up), and that the stage is deployed' });
      }
    }
    try {
      const k = await target.killSwitch();
      checks.push({ name: 'kill switch', ok: true, detail: `${k.engaged ? 'ON (paused: no action is taken)' : 'off'} at ${k.where}` });
    } catch (error) {
      checks.push({ name: 'kill switch', ok: false, detail: `${message(error)} (an unreadable switch stops every action)`, fix: 'k8s-healer resume writes it; on AWS check ssm:GetParameter on the parameter' });
    }
    if (target.stage !== undefined) {
      const ssm = createSsmClient();
      checks.push(await checkParameters(ssm, target.stage), ...(registry ? [await checkClusterParameters(ssm, registry)] : []), ...(await checkQueues(createSqsClient(), target.stage)), await checkStageIdentity(ssm, target.stage, process.env.KUBECONFIG || undefined));
    }
    const kubeconfig = process.env.KUBECONFIG || target.kubeconfig;
    if (target.stage === undefined && target.kubeconfig) {
      // The local run acts with this kubeconfig: ask the cluster what it may do.
      try {
        const kc = new KubeConfig();
        kc.loadFromFile(target.kubeconfig);
        checks.push(accessCheck(await reviewAccess(kc, { self: true }, grantedBy(healerManifest(), 'k8s-healer')), `the local run's identity (${kc.getCurrentUser()?.name ?? 'user'})`));
      } catch (error) {
        checks.push({ name: 'identity access', ok: false, detail: `the cluster could not be asked: ${message(error)}`, fix: 'check that the cluster is reachable' });
      }
    }
    if (kubeconfig) {
      try {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfig);
        const who = await actingIdentity(kc);
        checks.push({ name: 'cluster', ok: who.unknown === undefined, detail: describeIdentity(who), ...(who.unknown ? { fix: 'check the kubeconfig\'s server and credentials' } : who.clusterAdmin ? { fix: 'act as the scoped identity (infra/rbac.yaml), not a cluster admin' } : {}) });
      } catch (error) {
        checks.push({ name: 'cluster', ok: false, detail: `${kubeconfig}: ${message(error)}`, fix: 'check the kubeconfig path and that the cluster is reachable' });
      }
    } else {
      checks.push({ name: 'cluster', ok: true, detail: 'no kubeconfig here to check (the deployed functions read theirs from SSM)' });
    }
  }
  if (o.local) {
    const { missing } = missingPrerequisites(machineFacts({ ...(process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : {}), binaries: o.binaries?.() ?? { ok: false, reason: 'not checked' } }));
    checks.push(missing.length === 0
      ? { name: 'local prerequisites', ok: true, detail: 'Java, and a cluster or the means to start one' }
      : { name: 'local prerequisites', ok: false, detail: missing.map((m) => m.need).join('; '), fix: missing.map((m) => m.fixes[0] ?? '').join('; ') });
  }
  emit(o.output, checks, () => checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? `\n     fix: ${c.fix}` : ''}`).join('\n'));
  return checks;
}
