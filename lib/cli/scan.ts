/**
 * `scan`: one scan of a cluster, reading only, as the operator (KUBECONFIG, plugins allowed: this
 * is their machine); prints the incidents it would raise. With a registry, `--cluster` names the
 * entry whose name the incidents carry, `--context` the kubeconfig's context that reaches it.
 */
import { clusterConfig, loadConfig } from '../config/config.js';
import { KubeconfigRefused, KubernetesCluster, loadKubeConfig } from '../adapters/kubernetes.js';
import { findIncidents } from '../pipeline/scan.js';
import { systemClock } from '../ports/index.js';
import { emit, table, type OutputFormat } from './output.js';
import { UsageError } from './target.js';

export async function scanOnce(o: { output: OutputFormat; cluster?: string | undefined; context?: string | undefined }): Promise<void> {
  const stack = loadConfig({ ...process.env, HEALER_DRY_RUN: 'true' });
  const config = o.cluster === undefined ? clusterConfig(stack, stack.clusterName) ?? stack : clusterConfig(stack, o.cluster);
  if (!config) throw new UsageError(`--cluster ${o.cluster}: not one of the configured clusters (${stack.clusters.map((c) => c.name).join(', ')})`);
  const kubeConfig = (() => {
    try {
      return loadKubeConfig({ requestTimeoutMs: config.kubeRequestTimeoutSeconds * 1000, allowPlugins: true, context: o.context });
    } catch (error) {
      throw error instanceof KubeconfigRefused ? new UsageError(error.message) : error;
    }
  })();
  const reader = new KubernetesCluster(kubeConfig, config, systemClock);
  const found = await findIncidents({ reader, clock: systemClock, cluster: config.clusterName, settings: config.settings.intake.scan });
  emit(o.output, found, () => [
    table(found.incidents.map((i) => ({ id: i.id, symptom: i.symptom, subject: `${i.subject.kind} ${i.subject.namespace}/${i.subject.name}`, why: i.annotations.summary ?? '' })), ['id', 'symptom', 'subject', 'why'], 100),
    `${found.findings} finding(s) in ${found.groups} owner group(s): ${found.incidents.length} incident(s) would be raised (dry run: nothing enqueued)`,
    ...found.gaps.map((g) => `could not read: ${g}`),
    ...found.detectorErrors.map((e) => `detector ${e.detector} failed: ${e.message}`),
  ].join('\n'));
}
