import { clusterConfig, type HealerConfig } from '../config/config.js';
import { depsOnDemand } from './worker.js';

/** A cluster name no registry entry holds: the caller refuses, never guesses another cluster. */
export class UnknownClusterError extends Error {
  constructor(readonly cluster: string, served: readonly string[]) {
    super(`cluster ${JSON.stringify(cluster.slice(0, 100))} is not in the registry (${served.join(', ')})`);
    this.name = 'UnknownClusterError';
  }
}

/**
 * Dependencies per cluster of the registry, built from that cluster's configuration only (its
 * sign-in, its narrowed policy), so an incident of cluster A gets a client that can only reach A.
 * Each cluster's are built on first use and kept once whole (depsOnDemand): one cluster that
 * cannot be set up does not stop the others. A name outside the registry throws
 * UnknownClusterError before anything is built.
 */
export function perCluster<T extends { readonly degraded: readonly string[] }>(config: HealerConfig, build: (cluster: HealerConfig) => Promise<T>): (cluster: unknown) => Promise<T> {
  const built = new Map<string, () => Promise<T>>();
  const served = config.clusters.map((c) => c.name);
  return async (cluster) => {
    const own = clusterConfig(config, cluster);
    if (!own) throw new UnknownClusterError(String(cluster), served);
    let deps = built.get(own.clusterName);
    if (!deps) {
      deps = depsOnDemand(() => build(own));
      built.set(own.clusterName, deps);
    }
    return deps();
  };
}
