import type { MetricSink } from '../ports/metrics.js';

/**
 * Whole lines straight to stdout, not through console: with the Lambda JSON log format the
 * runtime wraps console output in its own JSON object, and CloudWatch Logs extracts EMF metrics
 * only from a log event that is the EMF document itself.
 */
export const stdoutSink: MetricSink = {
  write(line: string): void {
    process.stdout.write(`${line}\n`);
  },
};
