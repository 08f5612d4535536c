import { clusterConfig, type HealerConfig } from '../config/config.js';
import { KubernetesCluster } from '../adapters/kubernetes.js';
import { scanCluster, scanEveryCluster, type ClusterScan } from '../pipeline/scan.js';
import { systemClock, type IncidentQueue, type Notifier, type StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { scanRequests } from '../metrics/healer-metrics.js';
import { kubeConfigFor } from './kube.js';

/**
 * The scan's wiring, used by the Lambda handler (functions/scheduled-scan.ts) and the local run:
 * for every cluster of the registry, a client built from that cluster's own configuration (the
 * scan identity's kubeconfig when HEALER_KUBE_IDENTITY=scan), one snapshot, every detector, the
 * same dedup and queue as the webhook. One cluster that fails is paged and reported; the others
 * are still scanned.
 */
export function scanEntry(config: HealerConfig, io: { state: StateStore; queue: IncidentQueue; notifier: Notifier; metrics?: Metrics }): () => Promise<ClusterScan[]> {
  return () => scanEveryCluster(config.clusters.map((c) => c.name), async (name) => {
    const own = clusterConfig(config, name);
    if (!own) throw new Error(`cluster ${name} is not in the registry`);
    const kubeConfig = await kubeConfigFor(own);
    const reader = new KubernetesCluster(kubeConfig, own, systemClock);
    try {
      return await scanCluster({
        ...(io.metrics ? { metrics: io.metrics } : {}),
        reader,
        state: io.state,
        queue: io.queue,
        clock: systemClock,
        cluster: own.clusterName,
        dedupWindowSeconds: own.settings.intake.dedupWindowSeconds,
        settings: own.settings.intake.scan,
      });
    } finally {
      io.metrics?.record({ ...scanRequests(kubeConfig.requestCount), properties: { cluster: name } });
    }
  }, { notifier: io.notifier });
}
