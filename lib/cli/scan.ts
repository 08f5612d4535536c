/** `scan`: one scan of the cluster, reading only; prints the incidents it would raise. */
import { loadConfig } from '../config/config.js';
import { KubernetesCluster, loadKubeConfig } from '../adapters/kubernetes.js';
import { findIncidents } from '../pipeline/scan.js';
import { systemClock } from '../ports/index.js';
import { emit, table, type OutputFormat } from './output.js';

export async function scanOnce(o: { output: OutputFormat }): Promise<void> {
  const config = loadConfig({ ...process.env, HEALER_DRY_RUN: 'true' });
  const reader = new KubernetesCluster(loadKubeConfig({ requestTimeoutMs: config.kubeRequestTimeoutSeconds * 1000 }), config, systemClock);
  const found = await findIncidents({ reader, clock: systemClock, cluster: config.clusterName, settings: config.settings.intake.scan });
  emit(o.output, found, () => [
    table(found.incidents.map((i) => ({ id: i.id, symptom: i.symptom, subject: `${i.subject.kind} ${i.subject.namespace}/${i.subject.name}`, why: i.annotations.summary ?? '' })), ['id', 'symptom', 'subject', 'why'], 100),
    `${found.findings} finding(s) in ${found.groups} owner group(s): ${found.incidents.length} incident(s) would be raised (dry run: nothing enqueued)`,
    ...found.gaps.map((g) => `could not read: ${g}`),
    ...found.detectorErrors.map((e) => `detector ${e.detector} failed: ${e.message}`),
  ].join('\n'));
}
