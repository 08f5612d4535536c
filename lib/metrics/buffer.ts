import type { Clock } from '../ports/index.js';
import type { MetricPoint, MetricSink, Metrics } from '../ports/metrics.js';
import { redact } from '../evidence/redact.js';
import { emfDocuments } from './emf.js';

/**
 * Collects points during one invocation and writes them as EMF documents on flush (the function's
 * middleware flushes after every invocation, failed ones included). Property strings pass the one
 * redaction step: a log line leaves the cluster like any other text.
 */
export class MetricsBuffer implements Metrics {
  private points: MetricPoint[] = [];

  constructor(
    private readonly namespace: string,
    private readonly sink: MetricSink,
    private readonly clock: Clock,
  ) {}

  record(point: MetricPoint): void {
    this.points.push(point);
  }

  /** Writes what was recorded since the last flush, one line per document; a sink that throws loses only metrics. */
  flush(): void {
    const points = this.points;
    this.points = [];
    if (points.length === 0) return;
    try {
      for (const doc of emfDocuments(this.namespace, points.map(redactProperties), this.clock.now())) this.sink.write(JSON.stringify(doc));
    } catch {
      // Metrics are best effort: a failed write must not fail the invocation that did the work.
    }
  }
}

function redactProperties(point: MetricPoint): MetricPoint {
  if (!point.properties) return point;
  return { ...point, properties: Object.fromEntries(Object.entries(point.properties).map(([k, v]) => [k, typeof v === 'string' ? redact(v) : v])) };
}

/** Keeps every line: for tests and the local run. */
export class MemorySink implements MetricSink {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }
}
