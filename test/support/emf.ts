import { expect } from 'vitest';
import type { EmfDocument } from '../../lib/metrics/emf.js';

export interface ReadMetric {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Record<string, string>;
  readonly values: number[];
  readonly document: Record<string, unknown>;
}

/**
 * Reads EMF lines back the way CloudWatch Logs does: each line one JSON document, each directive's
 * metric values and dimension values taken from the root. Fails the test on a malformed document.
 */
export function readEmf(lines: readonly string[]): ReadMetric[] {
  return lines.flatMap((line) => {
    const doc = JSON.parse(line) as EmfDocument & Record<string, unknown>;
    expect(typeof doc._aws?.Timestamp).toBe('number');
    return doc._aws.CloudWatchMetrics.flatMap((directive) => {
      const keys = directive.Dimensions.flat();
      const dimensions = Object.fromEntries(keys.map((k) => [k, doc[k]])) as Record<string, string>;
      for (const value of Object.values(dimensions)) expect(typeof value).toBe('string');
      return directive.Metrics.map((m) => {
        const raw = doc[m.Name];
        const values = (Array.isArray(raw) ? raw : [raw]) as number[];
        for (const v of values) expect(typeof v).toBe('number');
        return { namespace: directive.Namespace, name: m.Name, unit: m.Unit, dimensions, values, document: doc };
      });
    });
  });
}

/** name{Dim=value,…}: the samples' sum, for compact assertions. */
export function totals(metrics: readonly ReadMetric[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) {
    const dims = Object.entries(m.dimensions).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
    const key = dims ? `${m.name}{${dims}}` : m.name;
    out[key] = (out[key] ?? 0) + m.values.reduce((a, b) => a + b, 0);
  }
  return out;
}
