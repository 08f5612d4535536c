import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { clusterConfig, loadConfig } from '../lib/config/config.js';
import { KubernetesCluster } from '../lib/adapters/kubernetes.js';
import { scanCluster, scanEveryCluster, type ClusterScan } from '../lib/pipeline/scan.js';
import { systemClock } from '../lib/ports/index.js';
import { incidentQueue, stateStore } from '../lib/wiring/common.js';
import { kubeConfigFor } from '../lib/wiring/kube.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';
import { scanRequests } from '../lib/metrics/healer-metrics.js';
import { notifierFrom } from '../lib/wiring/notifier.js';
import { countingNotifier } from '../lib/metrics/counting-notifier.js';

const config = loadConfig();
const state = stateStore(config);
const queue = incidentQueue(config);
const metrics = functionMetrics();

const notifier = countingNotifier(notifierFrom(config), metrics);

/**
 * EventBridge schedule → for every cluster of the registry: one snapshot, every detector, one
 * incident per owner → the same dedup and queue as the webhook. Each cluster is scanned with its
 * own client; one that fails is paged and reported, and does not stop the others.
 */
export const handler = middy<ScheduledEvent, ClusterScan[]>().use(observed(metrics)).handler(async () => {
  const results = await scanEveryCluster(config.clusters.map((c) => c.name), async (name) => {
    const own = clusterConfig(config, name);
    if (!own) throw new Error(`cluster ${name} is not in the registry`);
    const kubeConfig = await kubeConfigFor(own);
    const reader = new KubernetesCluster(kubeConfig, own, systemClock);
    try {
      return await scanCluster({
        metrics,
        reader,
        state,
        queue,
        clock: systemClock,
        cluster: own.clusterName,
        dedupWindowSeconds: own.settings.intake.dedupWindowSeconds,
        settings: own.settings.intake.scan,
      });
    } finally {
      metrics.record({ ...scanRequests(kubeConfig.requestCount), properties: { cluster: name } });
    }
  }, { notifier });
  for (const result of results) {
    if (result.ok) log(result.report.gaps.length > 0 || result.report.detectorErrors.length > 0 ? 'warn' : 'info', 'scan finished', { cluster: result.cluster, ...result.report });
    else log('error', 'scan failed', { cluster: result.cluster, error: result.error });
  }
  return results;
});
