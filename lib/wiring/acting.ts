import type { KubeConfig } from '@kubernetes/client-node';
import type { HealerConfig } from '../config/config.js';
import { KubernetesCluster, type BoundedKubeConfig } from '../adapters/kubernetes.js';
import { DynamoActionRecords } from '../adapters/dynamo-action-records.js';
import { WriteGate } from '../pipeline/write-gate.js';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { notifierFrom } from './notifier.js';
import { systemClock, type Diagnoser, type Notifier } from '../ports/index.js';
import type { RemediateDeps } from '../pipeline/remediate.js';
import { KubernetesActor } from '../adapters/kubernetes-actions.js';
import { SsmKillSwitch } from '../adapters/ssm-kill-switch.js';
import { DynamoApprovalStore } from '../adapters/dynamo-approval-store.js';
import { SqsIncidentQueue } from '../adapters/sqs-queue.js';
import { SignedApprovals } from '../pipeline/approval.js';
import type { ApprovalStore, KillSwitch, VerificationScheduler } from '../ports/index.js';
import { secretFrom, stateStore } from './common.js';
import { kubeConfigFor } from './kube.js';
import { log } from './middleware.js';
import type { Metrics } from '../ports/metrics.js';
import { countingNotifier } from '../metrics/counting-notifier.js';

export type ActingDeps = RemediateDeps & {
  cluster: KubernetesCluster;
  kubeConfig: BoundedKubeConfig;
  approvalStore: ApprovalStore;
  approvalKey: Uint8Array | undefined;
  /** Parts that could not be set up this time (a secret unreadable, say): the deps work without
   * them, and are built again on the next invocation instead of being cached. */
  degraded: readonly string[];
};

/**
 * Everything that reads, decides, acts, audits and notifies, from configuration: the one place
 * adapters meet the pipeline. The diagnoser is passed in, so a function that never asks the model
 * (approve) does not bundle the model client.
 */
export async function actingDeps(
  config: HealerConfig,
  make: { diagnoser: (kubeConfig: KubeConfig, degraded: string[]) => Diagnoser | Promise<Diagnoser>; notifier?: Notifier; verifications?: VerificationScheduler; killSwitch?: KillSwitch; metrics?: Metrics },
): Promise<ActingDeps> {
  const degraded: string[] = [];
  const kubeConfig = await kubeConfigFor(config);
  const cluster = new KubernetesCluster(kubeConfig, config, systemClock);
  // The actor writes; only the gate holds it as a writer. Everyone else gets it as an observer.
  const actor = new KubernetesActor(kubeConfig, systemClock);
  const approvalStore = new DynamoApprovalStore({ tableName: config.stateTable });
  const approvalKey = await approvalKeyFrom(config, degraded);
  const audit = new DynamoAuditLog({ tableName: config.auditTable });
  const killSwitch = make.killSwitch ?? (config.killSwitchParam ? new SsmKillSwitch({ parameterName: config.killSwitchParam }) : undefined);
  // Links need both the key and the endpoint; without them an approval-needing action pages without a link.
  const approvals = approvalKey && config.approvalUrl
    ? new SignedApprovals(approvalStore, { key: approvalKey, baseUrl: config.approvalUrl, ttlSeconds: config.settings.approval.ttlSeconds })
    : undefined;
  const verifications = make.verifications ?? (config.queueUrl ? new SqsIncidentQueue({ queueUrl: config.queueUrl }) : undefined);
  const diagnoser = await make.diagnoser(kubeConfig, degraded);
  const baseNotifier = make.notifier ?? notifierFrom(config);
  const notifier = make.metrics ? countingNotifier(baseNotifier, make.metrics) : baseNotifier;
  const gate = new WriteGate({
    writer: actor,
    reader: cluster,
    audit,
    clock: systemClock,
    ...(killSwitch ? { killSwitch } : {}),
    ...(make.metrics ? { metrics: make.metrics } : {}),
    settings: config.settings,
  });
  return {
    cluster,
    kubeConfig,
    gate,
    observer: actor,
    actionRecords: new DynamoActionRecords({ tableName: config.stateTable }),
    approvalStore,
    approvalKey,
    degraded,
    ...(approvals ? { approvals } : {}),
    ...(verifications ? { verifications } : {}),
    ...(killSwitch ? { killSwitch } : {}),
    ...(make.metrics ? { metrics: make.metrics } : {}),
    reader: cluster,
    state: stateStore(config),
    audit,
    notifier,
    diagnoser,
    clock: systemClock,
    settings: config.settings,
  };
}

/**
 * The approval HMAC key from the environment or SSM; undefined when neither is configured. An
 * unreadable or too short key is logged and named in `degraded`: healing goes on, actions that
 * need approval page without a link, and the next invocation reads the key again.
 */
async function approvalKeyFrom(config: HealerConfig, degraded: string[]): Promise<Uint8Array | undefined> {
  if (!config.approvalKey && !config.approvalKeyParam) return undefined;
  let key: string;
  try {
    key = await secretFrom(config.approvalKey, config.approvalKeyParam, 'the approval key');
  } catch (error) {
    const reason = `approval key unreadable: ${error instanceof Error ? error.message : String(error)}`;
    log('error', 'approval key unreadable; approval links are off', { param: config.approvalKeyParam, error: reason });
    degraded.push(reason);
    return undefined;
  }
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length < 32) {
    log('error', 'approval key shorter than 32 bytes; approval links are off', { param: config.approvalKeyParam });
    degraded.push('approval key shorter than 32 bytes');
    return undefined;
  }
  return bytes;
}
