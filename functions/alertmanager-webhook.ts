import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { incidentQueue, stateStore } from '../lib/wiring/common.js';
import { httpErrors, log } from '../lib/wiring/middleware.js';
import { skipLines, webhookEntry } from '../lib/wiring/webhook.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';

// Parsed once per container; a bad configuration fails the cold start loudly.
const config = loadConfig();
const metrics = functionMetrics();
const intake = webhookEntry(config, { state: stateStore(config), queue: incidentQueue(config), metrics });

/** POST /alerts: Alertmanager webhook → deduplicated incidents on the queue. No cluster, no model. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(observed(metrics))
  .use(httpErrors(metrics))
  .handler(async (event) => {
    const result = await intake({ headers: event.headers ?? {}, body: event.body, isBase64Encoded: event.isBase64Encoded }, Date.now());
    // Every skipped alert is named with its reason: a dropped alert must be findable in the logs.
    if (result.report) for (const reason of skipLines(result.report)) log('info', 'alert skipped', { reason });
    const report = result.report;
    const counts = report ? { received: report.received, enqueued: report.enqueued, duplicates: report.duplicates, skippedByReason: report.skippedByReason } : {};
    log(result.statusCode < 400 ? 'info' : 'warn', 'webhook handled', { statusCode: result.statusCode, ...counts });
    return { statusCode: result.statusCode, headers: { 'content-type': 'application/json' }, body: result.body };
  });
