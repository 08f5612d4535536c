import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import type { ClusterScan } from '../lib/pipeline/scan.js';
import { incidentQueue, stateStore } from '../lib/wiring/common.js';
import { log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';
import { notifierFrom } from '../lib/wiring/notifier.js';
import { countingNotifier } from '../lib/metrics/counting-notifier.js';
import { scanEntry } from '../lib/wiring/scan.js';

const config = loadConfig();
const metrics = functionMetrics();
const scanAll = scanEntry(config, { state: stateStore(config), queue: incidentQueue(config), notifier: countingNotifier(notifierFrom(config), metrics), metrics });

/**
 * EventBridge schedule → for every cluster of the registry: one snapshot, every detector, one
 * incident per owner → the same dedup and queue as the webhook (lib/wiring/scan.ts).
 */
export const handler = middy<ScheduledEvent, ClusterScan[]>().use(observed(metrics)).handler(async () => {
  const results = await scanAll();
  for (const result of results) {
    if (result.ok) log(result.report.gaps.length > 0 || result.report.detectorErrors.length > 0 ? 'warn' : 'info', 'scan finished', { cluster: result.cluster, ...result.report });
    else log('error', 'scan failed', { cluster: result.cluster, error: result.error });
  }
  return results;
});
