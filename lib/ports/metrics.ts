/**
 * What the healer counts about itself (docs/operations.md, "Metrics"). The pipeline records points
 * through this port and never learns where they go; the Lambda functions turn them into CloudWatch
 * embedded metric format lines (lib/metrics/emf.ts), tests keep them in memory.
 */

export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  readonly unit?: MetricUnit;
  /**
   * Low-cardinality only (a symptom, a rule, an action id, an outcome): every distinct set of
   * values is a separate, billed CloudWatch metric. Never a pod name or an incident id.
   */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Context for whoever reads the log line (incident id, namespace/name): searchable, not a dimension. */
  readonly properties?: Readonly<Record<string, string | number | boolean>>;
}

export interface Metrics {
  /** Never throws and never waits: counting must not change what the healer does. */
  record(point: MetricPoint): void;
}

/** Where whole EMF documents go, one line each (stdout in Lambda, an array in tests). */
export interface MetricSink {
  write(line: string): void;
}

export const NO_METRICS: Metrics = Object.freeze({ record: () => undefined });
