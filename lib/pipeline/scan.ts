import type { Incident } from '../domain/types.js';
import { IncidentSchema } from '../domain/incident-schema.js';
import { groupByOwner, runDetectors, type ClusterSnapshot, type DetectorSettings, type FindingGroup } from '../detect/index.js';
import { incidentId } from '../intake/incidents.js';
import type { ClusterReader, Clock, IncidentQueue, Notifier, StateStore } from '../ports/index.js';
import { mapWithConcurrency } from '../util/concurrency.js';
import { admitIncidents } from './intake.js';
import type { Metrics } from '../ports/metrics.js';
import { scanFinished } from '../metrics/healer-metrics.js';

export interface ScanReport {
  /** Objects the snapshot held (pods, workloads, nodes, events). */
  readonly objects: number;
  readonly findings: number;
  readonly groups: number;
  /** Incidents made from the groups (one each, unless one could not be a valid queue message). */
  readonly incidents: number;
  readonly enqueued: number;
  /** Incidents already known within the dedup window (an earlier scan or an alert for the same object). */
  readonly duplicates: number;
  readonly skipped: readonly string[];
  readonly detectorErrors: readonly { readonly detector: string; readonly message: string }[];
  /** Lists the scan could not read (e.g. 403): their detectors saw nothing, the others ran. */
  readonly gaps: readonly string[];
}

/**
 * One incident per owner group. The subject is the group's first member in the detectors' order
 * (for pods: the first pod; for a Deployment, Job or Node: that object), and the id is the one an
 * Alertmanager alert about that object gets, so scan and alerts deduplicate each other. The other
 * pods of the group are merged by the worker's owner claim, not sent.
 */
export function groupToIncident(group: FindingGroup, cluster: string, detectedAt: string): Incident | string {
  const subject = group.members[0];
  const finding = group.findings[0];
  if (!subject || !finding) return `empty group ${group.key}`;
  const namespace = subject.namespace ?? '';
  const owner = group.ownerResolved ? ` of ${group.owner.kind}/${group.owner.name}` : '';
  const incident: Incident = {
    id: incidentId(cluster, namespace, subject.kind, subject.name, group.symptom),
    cluster,
    source: 'scan',
    symptom: group.symptom,
    subject: { kind: subject.kind, name: subject.name, namespace },
    severity: 'warning',
    labels: { detector: finding.detector },
    // Built from names and numbers only (see Finding.reason), for the diagnosis and the page.
    annotations: {
      summary: finding.reason,
      description: `${group.members.length} ${subject.kind}${group.members.length === 1 ? '' : 's'}${owner} with ${group.symptom}`,
    },
    detectedAt,
  };
  // The worker rejects a message its schema refuses; better to say so here than to fill the DLQ.
  const checked = IncidentSchema.safeParse(incident);
  return checked.success ? incident : `group ${group.key}: ${checked.error.issues[0]?.message ?? 'invalid incident'}`;
}

/** Every detector over one snapshot, one incident per owner group; reads only (`k8s-healer scan`). */
export async function findIncidents(deps: { reader: ClusterReader; clock: Clock; cluster: string; settings?: Partial<DetectorSettings> }): Promise<{
  incidents: Incident[];
  skipped: string[];
  objects: number;
  findings: number;
  groups: number;
  detectorErrors: ScanReport['detectorErrors'];
  gaps: ScanReport['gaps'];
  nowMs: number;
}> {
  const { snapshot, gaps } = await deps.reader.readSnapshot();
  // "Now" after the read: thresholds compare against timestamps the API server just wrote.
  const nowMs = deps.clock.now();
  const detectedAt = new Date(nowMs).toISOString();
  const { findings, errors } = runDetectors(snapshot, deps.settings ?? {}, nowMs);
  const groups = groupByOwner(findings);
  const incidents: Incident[] = [];
  const skipped: string[] = [];
  for (const group of groups) {
    const made = groupToIncident(group, deps.cluster, detectedAt);
    if (typeof made === 'string') skipped.push(made);
    else incidents.push(made);
  }
  return { incidents, skipped, objects: objectsIn(snapshot), findings: findings.length, groups: groups.length, detectorErrors: errors, gaps, nowMs };
}

/** The scheduled scan: every detector over one snapshot, one incident per owner group, the alerts' dedup and queue. */
export async function scanCluster(deps: {
  reader: ClusterReader;
  state: StateStore;
  queue: IncidentQueue;
  clock: Clock;
  cluster: string;
  dedupWindowSeconds: number;
  /** Detector thresholds; anything absent uses the detectors' defaults. */
  settings?: Partial<DetectorSettings>;
  metrics?: Metrics;
}): Promise<ScanReport> {
  const startedMs = deps.clock.now();
  try {
    const report = await scanOnce(deps);
    const failed = report.gaps.length > 0 || report.detectorErrors.length > 0;
    for (const p of scanFinished({ durationMs: deps.clock.now() - startedMs, objects: report.objects, findings: report.findings, failed, cluster: deps.cluster })) deps.metrics?.record(p);
    return report;
  } catch (error) {
    for (const p of scanFinished({ durationMs: deps.clock.now() - startedMs, objects: 0, findings: 0, failed: true, cluster: deps.cluster })) deps.metrics?.record(p);
    throw error;
  }
}

async function scanOnce(deps: Parameters<typeof scanCluster>[0]): Promise<ScanReport> {
  const found = await findIncidents(deps);
  const admitted = await admitIncidents(found.incidents, { state: deps.state, queue: deps.queue, dedupWindowSeconds: deps.dedupWindowSeconds, nowMs: found.nowMs, metrics: deps.metrics });
  return {
    objects: found.objects,
    findings: found.findings,
    groups: found.groups,
    incidents: found.incidents.length,
    enqueued: admitted.enqueued,
    duplicates: admitted.duplicates,
    skipped: found.skipped,
    detectorErrors: found.detectorErrors,
    gaps: found.gaps,
  };
}

const SNAPSHOT_LISTS = ['pods', 'deployments', 'replicaSets', 'jobs', 'workloads', 'nodes', 'events'] as const;

/** Objects the snapshot holds; a list that cannot even be read counts as none (its detectors report it). */
function objectsIn(snapshot: ClusterSnapshot): number {
  return SNAPSHOT_LISTS.reduce((n, key) => {
    try {
      return n + (snapshot[key]?.length ?? 0);
    } catch {
      return n;
    }
  }, 0);
}

/** One cluster's scan: its report, or why it could not be scanned. */
export type ClusterScan =
  | { readonly cluster: string; readonly ok: true; readonly report: ScanReport }
  | { readonly cluster: string; readonly ok: false; readonly error: string };

/**
 * Every cluster of the registry, each on its own: one cluster that cannot be reached (or whose
 * client cannot be built) is reported and paged, and the others are scanned all the same. A few
 * at a time, so one slow API server does not use up the scan's whole run.
 */
export async function scanEveryCluster(
  clusters: readonly string[],
  scanOne: (cluster: string) => Promise<ScanReport>,
  deps: { notifier: Notifier; concurrency?: number },
): Promise<ClusterScan[]> {
  return mapWithConcurrency(clusters, deps.concurrency ?? 3, async (cluster): Promise<ClusterScan> => {
    try {
      return { cluster, ok: true, report: await scanOne(cluster) };
    } catch (error) {
      const text = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
      // A page that fails must not hide the other clusters' results; the report says so instead.
      const paged = await deps.notifier.notify({
        subject: `[k8s-healer] Scan failed: cluster ${cluster}`.slice(0, 99),
        body: `The scheduled scan could not scan cluster ${cluster}; the other clusters were scanned.\nError: ${text}`,
        severity: 'warning',
        outcome: 'paged',
        cluster,
        namespace: '',
      }).then(() => '', (pageError: unknown) => `; the page failed too: ${pageError instanceof Error ? pageError.message : String(pageError)}`);
      return { cluster, ok: false, error: `${text}${paged}` };
    }
  });
}
