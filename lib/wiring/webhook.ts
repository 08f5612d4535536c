import type { HealerConfig } from '../config/config.js';
import { log } from './middleware.js';
import { handleWebhook, type ClusterToken, type WebhookDeps, type WebhookReport, type WebhookRequest, type WebhookResponse } from '../intake/webhook.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { secretFrom } from './common.js';

/**
 * The webhook's settings from the one configuration: the Lambda function and `npm start` both
 * build their webhook here, so alert mappings, basic auth and limits can never differ between them.
 */
export function webhookDeps(config: HealerConfig, io: { expectedToken: string | undefined; clusterTokens?: readonly ClusterToken[]; ownTokenClusters?: readonly string[]; state: StateStore; queue: IncidentQueue }): Omit<WebhookDeps, 'nowMs'> {
  return {
    expectedToken: io.expectedToken,
    clusterTokens: io.clusterTokens ?? [],
    ownTokenClusters: io.ownTokenClusters ?? [],
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
 * local run: the bearer tokens, then the intake. Each registry entry with a webhookTokenParam has
 * its own token, and only that token speaks for it. The stack's token (HEALER_WEBHOOK_TOKEN, else
 * its SSM parameter) and basic auth speak for the other clusters, so the stack's token is read only
 * while some cluster has no token of its own (with nothing configured at all, secretFrom fails
 * loudly). A cluster token that cannot be read, or that another place shares, shuts out that
 * cluster alone (an error log line on every request), never the others.
 */
export function webhookEntry(config: HealerConfig, io: { state: StateStore; queue: IncidentQueue; metrics?: Metrics }): (request: WebhookRequest, nowMs: number) => Promise<WebhookResponse> {
  const own = config.clusters.filter((c) => c.webhookTokenParam !== undefined);
  const ownTokenClusters = own.map((c) => c.name);
  const stackNeeded = own.length < config.clusters.length;
  return async (request, nowMs) => {
    const read = await Promise.allSettled(own.map(async (c) => ({ cluster: c.name, token: (await secretFrom(undefined, c.webhookTokenParam, `cluster ${c.name}'s webhook token`)).trim() })));
    const readable: ClusterToken[] = [];
    read.forEach((r, i) => {
      if (r.status === 'fulfilled') readable.push(r.value);
      else log('error', 'cluster webhook token unreadable; that cluster\'s alerts are refused', { cluster: own[i]?.name, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    });
    const bearerConfigured = stackNeeded && (Boolean(config.webhookToken || config.webhookTokenParam) || !config.webhookBasicAuth);
    const stackToken = bearerConfigured ? (await secretFrom(config.webhookToken, config.webhookTokenParam, 'the webhook token')).trim() : undefined;
    const tokens = distinctTokens(readable, stackToken);
    for (const problem of tokens.problems) log('error', 'webhook tokens misconfigured; the clusters named are refused', { problem });
    const tokenIo = { expectedToken: tokens.stackToken, clusterTokens: tokens.clusterTokens, ownTokenClusters, state: io.state, queue: io.queue };
    return handleWebhook(request, { ...webhookDeps(config, tokenIo), ...(io.metrics ? { metrics: io.metrics } : {}), nowMs });
  };
}

/**
 * Tokens that could not say whose alerts they carry are dropped: one two clusters share (or a
 * cluster's equal to the stack's, which drops the stack's too) or an empty one. Fails closed for
 * the places named, and says so by cluster, never by token.
 */
export function distinctTokens(clusterTokens: readonly ClusterToken[], stackToken: string | undefined): { clusterTokens: ClusterToken[]; stackToken: string | undefined; problems: string[] } {
  const STACK = 'the stack (HEALER_WEBHOOK_TOKEN)';
  const holders = new Map<string, string[]>();
  const problems: string[] = [];
  for (const { cluster, token } of [...clusterTokens, ...(stackToken !== undefined ? [{ cluster: STACK, token: stackToken }] : [])]) {
    if (token.length === 0) problems.push(`${cluster}'s webhook token is empty`);
    else holders.set(token, [...(holders.get(token) ?? []), cluster]);
  }
  const refused = new Set<string>();
  for (const names of holders.values()) {
    if (names.length < 2) continue;
    problems.push(`one webhook token is configured for ${names.join(' and ')}: each cluster needs its own`);
    for (const name of names) refused.add(name);
  }
  return {
    clusterTokens: clusterTokens.filter((t) => t.token.length > 0 && !refused.has(t.cluster)),
    stackToken: stackToken !== undefined && stackToken.length > 0 && !refused.has(STACK) ? stackToken : undefined,
    problems,
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
