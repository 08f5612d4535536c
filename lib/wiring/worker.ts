import type { HealerConfig } from '../config/config.js';
import { KubernetesCluster, loadKubeConfig } from '../adapters/kubernetes.js';
import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { ConsoleNotifier } from '../adapters/console-notifier.js';
import { runbookDiagnoser } from '../diagnose/runbook.js';
import { withRunbookFallback } from '../diagnose/fallback.js';
import { anthropicDiagnoserFromConfig } from '../adapters/anthropic-diagnoser.js';
import { systemClock, type Diagnoser, type Notifier } from '../ports/index.js';
import type { RemediateDeps } from '../pipeline/remediate.js';
import type { ActionResult } from '../domain/types.js';
import { secretFrom, stateStore } from './common.js';

/** Builds the worker's dependencies from configuration: the one place adapters meet the pipeline. */
export async function workerDeps(config: HealerConfig, overrides: { diagnoser?: Diagnoser; notifier?: Notifier } = {}): Promise<RemediateDeps & { cluster: KubernetesCluster }> {
  const kubeconfigYaml = config.kubeconfigParam ? await secretFrom(undefined, config.kubeconfigParam, 'kubeconfig') : undefined;
  const cluster = new KubernetesCluster(loadKubeConfig({ kubeconfigYaml }), config, systemClock);
  const apiKey = config.anthropicApiKey ?? (config.anthropicKeyParam ? await secretFrom(undefined, config.anthropicKeyParam, 'the Anthropic API key') : undefined);
  const diagnoser = overrides.diagnoser ?? withRunbookFallback(anthropicDiagnoserFromConfig(config, apiKey ? { apiKey } : {}), runbookDiagnoser);
  const notifier = overrides.notifier ?? (config.topicArn ? new SnsNotifier({ topicArn: config.topicArn }) : new ConsoleNotifier());
  return {
    cluster,
    reader: cluster,
    actor: cluster,
    state: stateStore(config),
    audit: new DynamoAuditLog({ tableName: config.auditTable }),
    notifier,
    diagnoser,
    clock: systemClock,
    verify: (result: ActionResult) => verifyEviction(cluster, result),
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
    },
  };
}

/** The evicted pod must be gone or terminating within a few seconds; its ReplicaSet replaces it. */
async function verifyEviction(cluster: KubernetesCluster, result: ActionResult): Promise<boolean> {
  const target = { ...result.target, namespace: result.target.namespace ?? '' };
  for (let attempt = 0; attempt < 10; attempt++) {
    if (await cluster.podReplaced(target)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
