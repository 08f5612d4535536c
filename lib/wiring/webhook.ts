import { ConfigError, type HealerConfig } from '../config/config.js';
import { handleWebhook, type ClusterToken, type WebhookDeps, type WebhookReport, type WebhookRequest, type WebhookResponse } from '../intake/webhook.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { secretFrom } from './common.js';

/**
 * The webhook's settings from the one configuration: the Lambda function and `npm start` both
 * build their webhook here, so alert mappings, basic auth and limits can never differ between them.
 */
export function webhookDeps(config: HealerConfig, io: { expectedToken: string | undefined; clusterTokens?: readonly ClusterToken[]; state: StateStore; queue: IncidentQueue }): Omit<WebhookDeps, 'nowMs'> {
  return {
    expectedToken: io.expectedToken,
    clusterTokens: io.clusterTokens ?? [],
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
 * local run: the expected bearer tokens (the stack's: HEALER_WEBHOOK_TOKEN, else its SSM
 * parameter, none when only basic auth or only clusters' own tokens are configured, and with
 * nothing at all secretFrom fails loudly; each registry entry's own, from its webhookTokenParam),
 * then the intake.
 */
export function webhookEntry(config: HealerConfig, io: { state: StateStore; queue: IncidentQueue; metrics?: Metrics }): (request: WebhookRequest, nowMs: number) => Promise<WebhookResponse> {
  const own = config.clusters.filter((c) => c.webhookTokenParam !== undefined);
  return async (request, nowMs) => {
    const clusterTokens = await Promise.all(own.map(async (c) => ({ cluster: c.name, token: await secretFrom(undefined, c.webhookTokenParam, `cluster ${c.name}'s webhook token`) })));
    const bearerConfigured = Boolean(config.webhookToken || config.webhookTokenParam) || (!config.webhookBasicAuth && own.length === 0);
    const expectedToken = bearerConfigured ? await secretFrom(config.webhookToken, config.webhookTokenParam, 'the webhook token') : undefined;
    distinctTokens(clusterTokens, expectedToken);
    return handleWebhook(request, { ...webhookDeps(config, { expectedToken, clusterTokens, state: io.state, queue: io.queue }), ...(io.metrics ? { metrics: io.metrics } : {}), nowMs });
  };
}

/**
 * A token two clusters share (or a cluster's equal to the stack's) could not say whose alerts it
 * carries: a configuration error, thrown on every request (a 500 and an error log line; Alertmanager
 * retries, and its own failed-notification metrics show it) until the parameters differ. Names
 * the clusters, never the token.
 */
export function distinctTokens(clusterTokens: readonly ClusterToken[], stackToken: string | undefined): void {
  const holders = new Map<string, string[]>();
  for (const { cluster, token } of [...clusterTokens, ...(stackToken ? [{ cluster: 'the stack (HEALER_WEBHOOK_TOKEN)', token: stackToken }] : [])]) {
    if (token.length === 0) throw new ConfigError(`${cluster}'s webhook token is empty`);
    holders.set(token, [...(holders.get(token) ?? []), cluster]);
  }
  const shared = [...holders.values()].find((names) => names.length > 1);
  if (shared) throw new ConfigError(`one webhook token is configured for ${shared.join(' and ')}: each cluster needs its own`);
}

/** Skipped alerts named one per line, at most this many per payload (the counts cover the rest). */
export const MAX_SKIPS_NAMED = 100;

/** One line per skipped alert (bounded), then the count of any not named. */
export function skipLines(report: WebhookReport): string[] {
  const named = report.skipped.slice(0, MAX_SKIPS_NAMED);
  const rest = report.skipped.length - named.length;
  return [...named, ...(rest > 0 ? [`… and ${rest} more skipped (${JSON.stringify(report.skippedByReason)})`] : [])];
}
