import type { HealerConfig } from '../config/config.js';
import { handleWebhook, type WebhookDeps, type WebhookReport, type WebhookRequest, type WebhookResponse } from '../intake/webhook.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { secretFrom } from './common.js';

/**
 * The webhook's settings from the one configuration: the Lambda function and `npm start` both
 * build their webhook here, so alert mappings, basic auth and limits can never differ between them.
 */
export function webhookDeps(config: HealerConfig, io: { expectedToken: string | undefined; state: StateStore; queue: IncidentQueue }): Omit<WebhookDeps, 'nowMs'> {
  return {
    expectedToken: io.expectedToken,
    basicAuth: config.webhookBasicAuth,
    alertMappings: config.settings.intake.alertMappings,
    state: io.state,
    queue: io.queue,
    clusters: config.clusters.map((c) => c.name),
    dedupWindowSeconds: config.settings.intake.dedupWindowSeconds,
    maxBodyBytes: config.settings.intake.maxBodyBytes,
    maxAlerts: config.settings.intake.maxAlertsPerPayload,
  };
}

/**
 * The webhook's wiring, used by the Lambda handler (functions/alertmanager-webhook.ts) and the
 * local run: the expected bearer token (HEALER_WEBHOOK_TOKEN, else its SSM parameter; none when
 * only basic auth is configured, and with neither, secretFrom fails loudly), then the intake.
 */
export function webhookEntry(config: HealerConfig, io: { state: StateStore; queue: IncidentQueue; metrics?: Metrics }): (request: WebhookRequest, nowMs: number) => Promise<WebhookResponse> {
  return async (request, nowMs) => {
    const bearerConfigured = Boolean(config.webhookToken || config.webhookTokenParam) || !config.webhookBasicAuth;
    const expectedToken = bearerConfigured ? await secretFrom(config.webhookToken, config.webhookTokenParam, 'the webhook token') : undefined;
    return handleWebhook(request, { ...webhookDeps(config, { expectedToken, state: io.state, queue: io.queue }), ...(io.metrics ? { metrics: io.metrics } : {}), nowMs });
  };
}

/** Skipped alerts named one per line, at most this many per payload (the counts cover the rest). */
export const MAX_SKIPS_NAMED = 100;

/** One line per skipped alert (bounded), then the count of any not named. */
export function skipLines(report: WebhookReport): string[] {
  const named = report.skipped.slice(0, MAX_SKIPS_NAMED);
  const rest = report.skipped.length - named.length;
  return [...named, ...(rest > 0 ? [`… and ${rest} more skipped (${JSON.stringify(report.skippedByReason)})`] : [])];
}
