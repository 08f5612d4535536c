import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, type HealerConfig } from '../config/config.js';
import { KubernetesCluster, loadKubeConfig } from '../adapters/kubernetes.js';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { ConsoleNotifier } from '../adapters/console-notifier.js';
import { systemClock, type Diagnoser, type Notifier } from '../ports/index.js';
import type { RemediateDeps } from '../pipeline/remediate.js';
import { KubernetesActor } from '../adapters/kubernetes-actions.js';
import { SsmKillSwitch } from '../adapters/ssm-kill-switch.js';
import { DynamoApprovalStore } from '../adapters/dynamo-approval-store.js';
import { SqsIncidentQueue } from '../adapters/sqs-queue.js';
import { SignedApprovals } from '../pipeline/approval.js';
import type { ApprovalStore, VerificationScheduler } from '../ports/index.js';
import { secretFrom, stateStore } from './common.js';
import { log } from './middleware.js';

export type ActingDeps = RemediateDeps & { cluster: KubernetesCluster; actor: KubernetesActor; approvalStore: ApprovalStore; approvalKey: Uint8Array | undefined };

/**
 * Everything that reads, decides, acts, audits and notifies, from configuration: the one place
 * adapters meet the pipeline. The diagnoser is passed in, so a function that never asks the model
 * (approve) does not bundle the model client.
 */
export async function actingDeps(
  config: HealerConfig,
  make: { diagnoser: (kubeConfig: KubeConfig) => Diagnoser | Promise<Diagnoser>; notifier?: Notifier; verifications?: VerificationScheduler },
): Promise<ActingDeps> {
  const kubeconfigYaml = config.kubeconfigParam ? await secretFrom(undefined, config.kubeconfigParam, 'kubeconfig') : undefined;
  const kubeConfig = loadKubeConfig({ kubeconfigYaml });
  const cluster = new KubernetesCluster(kubeConfig, config, systemClock);
  const actor = new KubernetesActor(kubeConfig, systemClock);
  const approvalStore = new DynamoApprovalStore({ tableName: config.stateTable });
  const approvalKey = await approvalKeyFrom(config);
  // Links need both the key and the endpoint; without them an approval-needing action pages without a link.
  const approvals = approvalKey && config.approvalUrl
    ? new SignedApprovals(approvalStore, { key: approvalKey, baseUrl: config.approvalUrl, ttlSeconds: config.approvalTtlSeconds })
    : undefined;
  const verifications = make.verifications ?? (config.queueUrl ? new SqsIncidentQueue({ queueUrl: config.queueUrl }) : undefined);
  const diagnoser = await make.diagnoser(kubeConfig);
  const notifier = make.notifier ?? (config.topicArn ? new SnsNotifier({ topicArn: config.topicArn }) : new ConsoleNotifier());
  return {
    cluster,
    actor,
    approvalStore,
    approvalKey,
    ...(approvals ? { approvals } : {}),
    ...(verifications ? { verifications } : {}),
    ...(config.killSwitchParam ? { killSwitch: new SsmKillSwitch({ parameterName: config.killSwitchParam }) } : {}),
    reader: cluster,
    state: stateStore(config),
    audit: new DynamoAuditLog({ tableName: config.auditTable }),
    notifier,
    diagnoser,
    clock: systemClock,
    settings: {
      cluster: config.clusterName,
      dryRun: config.dryRun,
      killSwitch: config.killSwitch,
      deniedNamespaces: config.deniedNamespaces,
      minConfidence: config.minConfidence,
      cooldownSeconds: config.cooldownSeconds,
      lockSeconds: config.lockSeconds,
      dedupWindowSeconds: config.dedupWindowSeconds,
      groupWindowSeconds: config.groupWindowSeconds,
      maxActionsPerNamespacePerHour: config.maxActionsPerNamespacePerHour,
      maxActionsPerClusterPerHour: config.maxActionsPerClusterPerHour,
      circuitBreakerCount: config.circuitBreakerCount,
      circuitBreakerWindowSeconds: config.circuitBreakerWindowSeconds,
      maxCordonedNodeShare: config.maxCordonedNodeShare,
      scaleBounds: config.scaleBounds,
      jobStuckSeconds: config.jobStuckSeconds,
      approvalActions: config.approvalActions,
      verifyDelaySeconds: config.verifyDelaySeconds,
    },
  };
}

/**
 * The approval HMAC key from the environment or SSM; undefined when neither is configured. An
 * unreadable parameter is logged and treated as "not configured": healing goes on, and actions
 * that need approval page without a link, rather than every incident failing at cold start.
 */
async function approvalKeyFrom(config: HealerConfig): Promise<Uint8Array | undefined> {
  if (!config.approvalKey && !config.approvalKeyParam) return undefined;
  let key: string;
  try {
    key = await secretFrom(config.approvalKey, config.approvalKeyParam, 'the approval key');
  } catch (error) {
    log('error', 'approval key unreadable; approval links are off', { param: config.approvalKeyParam, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length < 32) throw new ConfigError('the approval key must be at least 32 bytes');
  return bytes;
}
