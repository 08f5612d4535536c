import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { KubernetesCluster } from '../lib/adapters/kubernetes.js';
import { scanCluster, type ScanReport } from '../lib/pipeline/scan.js';
import { systemClock } from '../lib/ports/index.js';
import { incidentQueue, stateStore } from '../lib/wiring/common.js';
import { kubeConfigFor } from '../lib/wiring/kube.js';
import { log } from '../lib/wiring/middleware.js';

const config = loadConfig();
const state = stateStore(config);
const queue = incidentQueue(config);

/** EventBridge schedule → one snapshot, every detector, one incident per owner → the same dedup and queue as the webhook. */
export const handler = middy<ScheduledEvent, ScanReport>().handler(async () => {
  const reader = new KubernetesCluster(await kubeConfigFor(config), config, systemClock);
  const report = await scanCluster({
    reader,
    state,
    queue,
    clock: systemClock,
    cluster: config.clusterName,
    dedupWindowSeconds: config.dedupWindowSeconds,
    settings: config.scanSettings,
  });
  log(report.gaps.length > 0 || report.detectorErrors.length > 0 ? 'warn' : 'info', 'scan finished', { ...report });
  return report;
});
