import { describe, expect, it } from 'vitest';
import { scanCluster, scanEveryCluster, type ScanReport } from '../../lib/pipeline/scan.js';
import { alertToIncident, incidentId } from '../../lib/intake/incidents.js';
import { IncidentSchema } from '../../lib/domain/incident-schema.js';
import type { ClusterSnapshot } from '../../lib/detect/index.js';
import type { Incident } from '../../lib/domain/types.js';
import type { ClusterReader, IncidentQueue, Notifier, StateStore } from '../../lib/ports/index.js';
import type { Notification } from '../../lib/domain/types.js';
import { aNode, ago, NOW, stormSnapshot } from '../fixtures/snapshots.js';

/** scanCluster over fixed snapshots: grouping, ids shared with alerts, gaps and detector errors in the report. */

function fakes(snapshot: ClusterSnapshot, gaps: string[] = []) {
  const seen = new Set<string>();
  const queued: Incident[] = [];
  const reader = { readSnapshot: () => Promise.resolve({ snapshot, gaps }) } as unknown as ClusterReader;
  const state = {
    recordIfNew: (id: string) => Promise.resolve(!seen.has(id) && Boolean(seen.add(id))),
    forgetIncident: (id: string) => Promise.resolve(void seen.delete(id)),
  } as unknown as StateStore;
  const queue: IncidentQueue = { enqueue: (incidents) => Promise.resolve(void queued.push(...incidents)) };
  const scan = () => scanCluster({ reader, state, queue, clock: { now: () => NOW }, cluster: 'prod', dedupWindowSeconds: 600 });
  return { scan, queued };
}

describe('scanCluster', () => {
  it('makes one incident per owner group, with the id an alert for its first pod gets', async () => {
    // Prepare: 4 Deployments x 50 crash-looping pods, unavailable for 10 minutes.
    const snapshot = stormSnapshot(4, 50);
    const { scan, queued } = fakes(snapshot);

    // Act
    const report = await scan();

    // Assess: 200 pod findings in 4 groups, plus each Deployment's own DeploymentUnavailable.
    expect(report).toMatchObject({ findings: 204, groups: 8, incidents: 8, enqueued: 8, duplicates: 0, detectorErrors: [], gaps: [], skipped: [] });
    const crashLoops = queued.filter((i) => i.symptom === 'CrashLoopBackOff');
    expect(crashLoops).toHaveLength(4);
    for (const deployment of snapshot.deployments ?? []) {
      // The detectors sort by name, so the subject is the group's alphabetically first pod.
      const firstPod = (snapshot.pods ?? [])
        .filter((p) => p.namespace === deployment.namespace && p.controller?.name.startsWith(`${deployment.name}-`))
        .map((p) => p.name)
        .sort()[0] ?? '';
      const incident = crashLoops.find((i) => i.subject.name === firstPod);
      expect(incident?.subject).toEqual({ kind: 'Pod', name: firstPod, namespace: deployment.namespace });
      const alert = alertToIncident(
        { status: 'firing', labels: { alertname: 'KubePodCrashLooping', namespace: deployment.namespace, pod: firstPod }, annotations: {}, startsAt: ago(60) },
        'prod',
        new Date(NOW).toISOString(),
      );
      expect('incident' in alert ? alert.incident.id : alert.skipped).toBe(incident?.id);
      expect(incident?.annotations.description).toBe(`50 Pods of Deployment/${deployment.name} with CrashLoopBackOff`);
    }
    expect(queued.filter((i) => i.symptom === 'DeploymentUnavailable').map((i) => i.subject.kind)).toEqual(['Deployment', 'Deployment', 'Deployment', 'Deployment']);
    expect(queued.every((i) => IncidentSchema.safeParse(i).success && i.source === 'scan')).toBe(true);
  });

  it('enqueues nothing new on a repeat scan within the window', async () => {
    // Prepare
    const { scan, queued } = fakes(stormSnapshot(2, 3));
    await scan();
    const before = queued.length;

    // Act
    const second = await scan();

    // Assess
    expect(second).toMatchObject({ enqueued: 0, duplicates: before });
    expect(queued).toHaveLength(before);
  });

  it('names a node incident with an empty namespace, as alerts do', async () => {
    // Prepare
    const node = aNode('ip-10-0-9-9.eu-west-1.compute.internal', { state: 'NodeStatusUnknown', since: ago(600) });
    const { scan, queued } = fakes({ nodes: [node], pods: [] });

    // Act
    await scan();

    // Assess
    expect(queued).toEqual([
      expect.objectContaining({
        id: incidentId('prod', '', 'Node', node.name, 'NodeNotReady'),
        symptom: 'NodeNotReady',
        subject: { kind: 'Node', name: node.name, namespace: '' },
      }),
    ]);
  });

  it('reports snapshot gaps and detector errors, and still runs the rest', async () => {
    // Prepare: a jobs list that throws when read breaks the two Job detectors; nodes are fine.
    const snapshot = {
      get jobs(): never {
        throw new Error('jobs exploded');
      },
      nodes: [aNode('n1', { state: 'KubeletNotReady', since: ago(600) })],
    } as ClusterSnapshot;
    const { scan, queued } = fakes(snapshot, ['jobs not listed: HTTP 403']);

    // Act
    const report = await scan();

    // Assess
    expect(report.gaps).toEqual(['jobs not listed: HTTP 403']);
    expect(report.detectorErrors).toEqual([
      { detector: 'job-stuck', message: 'jobs exploded' },
      { detector: 'job-failed', message: 'jobs exploded' },
    ]);
    expect(queued.map((i) => i.symptom)).toEqual(['NodeNotReady']);
  });
});

describe('scanEveryCluster', () => {
  const reportOf = (findings: number): ScanReport => ({ objects: 1, findings, groups: findings, incidents: findings, enqueued: findings, duplicates: 0, skipped: [], detectorErrors: [], gaps: [] });

  it('scans every cluster; one that fails is paged and reported, and the others still scan', async () => {
    // Prepare: the middle cluster's API server is down
    const pages: Notification[] = [];
    const notifier: Notifier = { notify: (n) => Promise.resolve(void pages.push(n)) };
    const scanned: string[] = [];
    const scanOne = (cluster: string) => {
      scanned.push(cluster);
      return cluster === 'b' ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443')) : Promise.resolve(reportOf(cluster === 'a' ? 1 : 2));
    };
    // Act
    const results = await scanEveryCluster(['a', 'b', 'c'], scanOne, { notifier, concurrency: 1 });
    // Assess
    expect(scanned).toEqual(['a', 'b', 'c']);
    expect(results).toEqual([
      { cluster: 'a', ok: true, report: reportOf(1) },
      { cluster: 'b', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:6443' },
      { cluster: 'c', ok: true, report: reportOf(2) },
    ]);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ cluster: 'b', outcome: 'paged', subject: '[k8s-healer] Scan failed: cluster b' });
  });

  it('reports a failed page with the failed scan rather than hiding either', async () => {
    // Prepare
    const notifier: Notifier = { notify: () => Promise.reject(new Error('SNS throttled')) };
    // Act
    const [only] = await scanEveryCluster(['a'], () => Promise.reject(new Error('403 forbidden')), { notifier });
    // Assess
    expect(only).toEqual({ cluster: 'a', ok: false, error: '403 forbidden; the page failed too: SNS throttled' });
  });
});
