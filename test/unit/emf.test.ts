import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emfDocuments, MAX_METRICS_PER_DOCUMENT, MAX_VALUES_PER_METRIC } from '../../lib/metrics/emf.js';
import { MemorySink, MetricsBuffer } from '../../lib/metrics/buffer.js';
import { scanCluster } from '../../lib/pipeline/scan.js';
import type { ClusterReader, IncidentQueue, StateStore } from '../../lib/ports/index.js';
import type { MetricPoint } from '../../lib/ports/metrics.js';
import { readEmf, totals } from '../support/emf.js';
import { NOW, stormSnapshot } from '../fixtures/snapshots.js';

/** CloudWatch embedded metric format documents, per the specification's envelope and limits. */
describe('emfDocuments', () => {
  it('builds the _aws envelope: timestamp, namespace, dimension keys, metric names and units; values and dimensions at the root', () => {
    // Prepare
    const points: MetricPoint[] = [
      { name: 'Incidents', value: 1, dimensions: { Symptom: 'CrashLoop', Source: 'scan' } },
      { name: 'ScanDuration', value: 812, unit: 'Milliseconds' },
    ];

    // Act
    const docs = emfDocuments('k8s-healer/prod', points, 1_700_000_000_000);

    // Assess
    expect(docs).toEqual([
      {
        _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'k8s-healer/prod', Dimensions: [['Symptom', 'Source']], Metrics: [{ Name: 'Incidents', Unit: 'Count' }] }] },
        Symptom: 'CrashLoop',
        Source: 'scan',
        Incidents: 1,
      },
      {
        _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'k8s-healer/prod', Dimensions: [[]], Metrics: [{ Name: 'ScanDuration', Unit: 'Milliseconds' }] }] },
        ScanDuration: 812,
      },
    ]);
  });

  it('keeps properties next to their own metric only, never as dimensions, and never over a dimension or a value', () => {
    // Act
    const docs = emfDocuments('ns', [
      { name: 'Decisions', value: 1, dimensions: { Rule: 'allowed' }, properties: { incidentId: 'abc', Rule: 'forged', Decisions: 99, _aws: 'x' } },
      { name: 'Decisions', value: 1, dimensions: { Rule: 'allowed' }, properties: { incidentId: 'def' } },
    ], 0);

    // Assess
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => [d.incidentId, d.Rule, d.Decisions])).toEqual([['abc', 'allowed', 1], ['def', 'allowed', 1]]);
    expect(docs.map((d) => d._aws.CloudWatchMetrics[0]?.Dimensions)).toEqual([[['Rule']], [['Rule']]]);
  });

  it('drops values CloudWatch would reject and gives empty dimension values a name', () => {
    // Act
    const docs = emfDocuments('ns', [
      { name: 'A', value: Number.NaN },
      { name: 'B', value: Number.POSITIVE_INFINITY },
      { name: 'C', value: 2, dimensions: { Model: '' } },
    ], 0);

    // Assess
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ C: 2, Model: 'none' });
  });

  it('property: every sample survives, within the specification\'s limits per document', () => {
    const point = fc.record({
      name: fc.constantFrom('Incidents', 'Pages', 'Actions', 'ModelCostUsd'),
      value: fc.integer({ min: 0, max: 1000 }),
      dimensions: fc.option(fc.record({ Outcome: fc.constantFrom('acted', 'paged', '') }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 400 }), (points) => {
        // Act
        const docs = emfDocuments('ns', points, 0);
        const read = readEmf(docs.map((d) => JSON.stringify(d)));

        // Assess: the same count and sum per metric; no directive or value array over its limit.
        expect(read.reduce((n, m) => n + m.values.length, 0)).toBe(points.length);
        expect(read.reduce((n, m) => n + m.values.reduce((a, b) => a + b, 0), 0)).toBe(points.reduce((n, p) => n + p.value, 0));
        for (const d of docs) expect(d._aws.CloudWatchMetrics[0]?.Metrics.length).toBeLessThanOrEqual(MAX_METRICS_PER_DOCUMENT);
        for (const m of read) expect(m.values.length).toBeLessThanOrEqual(MAX_VALUES_PER_METRIC);
      }),
    );
  });
});

describe('MetricsBuffer', () => {
  it('writes one line per document on flush, redacts property text, and starts empty again', () => {
    // Prepare
    const sink = new MemorySink();
    const metrics = new MetricsBuffer('ns', sink, { now: () => 5 });
    metrics.record({ name: 'Pages', value: 1, dimensions: { Outcome: 'paged' }, properties: { detail: 'login with password=hunter2-secret-value' } });

    // Act
    metrics.flush();
    metrics.flush();

    // Assess
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]).not.toContain('hunter2');
    expect(totals(readEmf(sink.lines))).toEqual({ 'Pages{Outcome=paged}': 1 });
  });
});

describe('scan metrics', () => {
  const state = { recordIfNew: () => Promise.resolve(true), forgetIncident: () => Promise.resolve() } as unknown as StateStore;
  const queue: IncidentQueue = { enqueue: () => Promise.resolve() };

  it('counts objects, findings, incidents by symptom and a failure when a list could not be read', async () => {
    // Prepare: 2 Deployments x 3 crash-looping pods, and the nodes list refused.
    const snapshot = stormSnapshot(2, 3);
    const reader = { readSnapshot: () => Promise.resolve({ snapshot, gaps: ['nodes not listed: HTTP 403'] }) } as unknown as ClusterReader;
    const sink = new MemorySink();
    const metrics = new MetricsBuffer('ns', sink, { now: () => NOW });

    // Act
    const report = await scanCluster({ reader, state, queue, clock: { now: () => NOW }, cluster: 'prod', dedupWindowSeconds: 600, metrics });
    metrics.flush();

    // Assess
    const objects = [snapshot.pods, snapshot.deployments, snapshot.replicaSets, snapshot.jobs, snapshot.workloads, snapshot.nodes, snapshot.events]
      .reduce((n, list) => n + (list?.length ?? 0), 0);
    expect(report.objects).toBe(objects);
    const t = totals(readEmf(sink.lines));
    expect(t).toMatchObject({ ScanObjects: objects, ScanFindings: report.findings, ScanFailures: 1, ScanDuration: 0 });
    expect(Object.entries(t).filter(([k]) => k.startsWith('Incidents{')).reduce((n, [, v]) => n + v, 0)).toBe(report.enqueued);
    expect(Object.keys(t).some((k) => k.startsWith('Incidents{Source=scan,Symptom='))).toBe(true);
  });

  it('counts a scan that threw as failed, and still throws', async () => {
    // Prepare
    const reader = { readSnapshot: () => Promise.reject(new Error('apiserver unreachable')) } as unknown as ClusterReader;
    const sink = new MemorySink();
    const metrics = new MetricsBuffer('ns', sink, { now: () => NOW });

    // Act
    const scan = scanCluster({ reader, state, queue, clock: { now: () => NOW }, cluster: 'prod', dedupWindowSeconds: 600, metrics });

    // Assess
    await expect(scan).rejects.toThrow('apiserver unreachable');
    metrics.flush();
    expect(totals(readEmf(sink.lines))).toMatchObject({ ScanFailures: 1, ScanObjects: 0 });
  });
});
