import type { MetricPoint, MetricUnit } from '../ports/metrics.js';

/**
 * CloudWatch embedded metric format (EMF): pure construction of the JSON documents CloudWatch Logs
 * turns into metrics. Per the specification: a root object with `_aws` = { Timestamp (epoch ms),
 * CloudWatchMetrics: [{ Namespace, Dimensions: [[keys…]], Metrics: [{ Name, Unit }] }] }, and every
 * dimension key and metric name a member of the root (a metric's value a number, or an array of
 * numbers for several samples). Limits from the specification: at most 100 metrics per directive,
 * 100 values per metric, 30 keys per dimension set; a dimension value is a non-empty string.
 */

export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: MetricUnit }[];
    }[];
  };
  readonly [member: string]: unknown;
}

export const MAX_METRICS_PER_DOCUMENT = 100;
export const MAX_VALUES_PER_METRIC = 100;
export const MAX_DIMENSIONS = 30;
/** CloudWatch's limit on a dimension value's length. */
const MAX_DIMENSION_VALUE = 1024;

/** A dimension value CloudWatch accepts: non-empty, bounded. */
function dimensionValue(value: string): string {
  return value === '' ? 'none' : value.slice(0, MAX_DIMENSION_VALUE);
}

/**
 * One or more EMF documents for these points. Points with the same dimensions (and no properties)
 * share a document, samples of one metric becoming a value array; a point with properties gets a
 * document of its own so its properties describe it alone. Points that are not finite numbers are
 * dropped (CloudWatch would reject the whole document).
 */
export function emfDocuments(namespace: string, points: readonly MetricPoint[], timestampMs: number): EmfDocument[] {
  const groups = new Map<string, { dimensions: Record<string, string>; properties: Record<string, unknown>; points: MetricPoint[] }>();
  let solo = 0;
  for (const point of points) {
    if (!Number.isFinite(point.value) || point.name === '') continue;
    const dimensions = Object.fromEntries(
      Object.entries(point.dimensions ?? {}).slice(0, MAX_DIMENSIONS).map(([k, v]) => [k, dimensionValue(v)]),
    );
    const hasProperties = point.properties !== undefined && Object.keys(point.properties).length > 0;
    const key = hasProperties ? `#${solo++}` : JSON.stringify(Object.entries(dimensions).sort());
    const group = groups.get(key) ?? { dimensions, properties: { ...point.properties }, points: [] };
    group.points.push(point);
    groups.set(key, group);
  }
  const documents: EmfDocument[] = [];
  for (const group of groups.values()) {
    // Samples per metric name, in order; a name's first unit wins.
    const byName = new Map<string, { unit: MetricUnit; values: number[] }>();
    for (const p of group.points) {
      const entry = byName.get(p.name) ?? { unit: p.unit ?? 'Count', values: [] };
      entry.values.push(p.value);
      byName.set(p.name, entry);
    }
    const metrics = [...byName].flatMap(([name, { unit, values }]) => chunks(values, MAX_VALUES_PER_METRIC).map((v) => ({ name, unit, values: v })));
    // One metric name may appear once per document: split the samples' chunks across documents.
    const rounds: (typeof metrics)[] = [];
    for (const m of metrics) {
      const round = rounds.find((r) => r.length < MAX_METRICS_PER_DOCUMENT && !r.some((x) => x.name === m.name));
      if (round) round.push(m);
      else rounds.push([m]);
    }
    for (const round of rounds) {
      const reserved = new Set(['_aws', ...Object.keys(group.dimensions), ...round.map((m) => m.name)]);
      // Properties never overwrite a dimension, a metric value or the envelope.
      const properties = Object.fromEntries(Object.entries(group.properties).filter(([k]) => !reserved.has(k)));
      documents.push({
        ...properties,
        ...group.dimensions,
        ...Object.fromEntries(round.map((m) => [m.name, m.values.length === 1 ? m.values[0] : m.values])),
        _aws: {
          Timestamp: timestampMs,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [Object.keys(group.dimensions)],
              Metrics: round.map((m) => ({ Name: m.name, Unit: m.unit })),
            },
          ],
        },
      });
    }
  }
  return documents;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
