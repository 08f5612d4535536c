import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { KubernetesCluster } from '../lib/adapters/kubernetes.js';
import { scanCluster, type ScanReport } from '../lib/pipeline/scan.js';
import { systemClock } from '../lib/ports/index.js';
import { incidentQueue, stateStore } from '../lib/wiring/common.js';
import { kubeConfigFor } from '../lib/wiring/kube.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';
import { scanRequests } from '../lib/metrics/healer-metrics.js';

const config = loadConfig();
const state = stateStore(config);
const queue = incidentQueue(config);
const metrics = functionMetrics();

/** EventBridge schedule → one snapshot, every detector, one incident per owner → the same dedup and queue as the webhook. */
export const handler = middy<ScheduledEvent, ScanReport>().use(observed(metrics)).handler(async () => {
  const kubeConfig = await kubeConfigFor(config);
  const reader = new KubernetesCluster(kubeConfig, config, systemClock);
  const report = await scanCluster({
    metrics,
    reader,
    state,
    queue,
    clock: systemClock,
    cluster: config.clusterName,
    dedupWindowSeconds: config.dedupWindowSeconds,
    settings: config.scanSettings,
  });
  metrics.record(scanRequests(kubeConfig.requestCount));
  log(report.gaps.length > 0 || report.detectorErrors.length > 0 ? 'warn' : 'info', 'scan finished', { ...report });
  return report;
});
