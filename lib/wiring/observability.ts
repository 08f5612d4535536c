import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { stdoutSink } from '../adapters/stdout-sink.js';
import { MetricsBuffer } from '../metrics/buffer.js';
import { systemClock } from '../ports/index.js';
import { setLogContext } from './middleware.js';

/**
 * The CloudWatch namespace of the healer's metrics. Read directly (not via config), like the log
 * level: the dead-letter function must count its pages even when the configuration is what failed.
 */
export const METRICS_NAMESPACE = process.env.HEALER_METRICS_NAMESPACE ?? 'k8s-healer';

/** One buffer per function container, flushed after every invocation by `observed()`. */
export function functionMetrics(): MetricsBuffer {
  return new MetricsBuffer(METRICS_NAMESPACE, stdoutSink, systemClock);
}

let coldStart = true;

/**
 * Per invocation: every log line carries the function name, the request id and whether this is
 * the container's first invocation (a cold start); the metrics recorded during it are flushed
 * when it ends, whether it succeeded or threw.
 */
export function observed(metrics: MetricsBuffer): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    name: 'observed',
    before: (request) => {
      setLogContext({ function: request.context.functionName, requestId: request.context.awsRequestId, coldStart });
      coldStart = false;
    },
    after: () => metrics.flush(),
    onError: () => metrics.flush(),
  };
}
