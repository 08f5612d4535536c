import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import { distinctTokens, MAX_SKIPS_NAMED, skipLines, webhookDeps } from '../../lib/wiring/webhook.js';
import type { IncidentQueue, StateStore } from '../../lib/ports/index.js';

/**
 * One webhook configuration: the Lambda function and `npm start` build their webhook from the
 * same settings, so alert mappings and basic auth work the same in both.
 */
const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
// Never called: webhookDeps only passes them through.
const io = { expectedToken: 'token', state: {} as StateStore, queue: {} as IncidentQueue };

describe('the webhook built from the configuration', () => {
  it('carries alert mappings, basic auth, the cluster and the limits from the environment', () => {
    // Prepare
    const config = loadConfig({
      HEALER_CLUSTER_NAME: 'prod-eu',
      HEALER_WEBHOOK_BASIC_AUTH: 'alertmanager:s3cret-pass',
      HEALER_ALERT_MAPPINGS: JSON.stringify({ AppQueueStuck: { symptom: 'DeploymentUnavailable', kind: 'Deployment', nameLabel: 'app_deployment' } }),
      HEALER_MAX_ALERTS_PER_PAYLOAD: '25',
    });

    // Act
    const deps = webhookDeps(config, io);

    // Assess
    expect(deps).toMatchObject({ expectedToken: 'token', basicAuth: 'alertmanager:s3cret-pass', clusters: ['prod-eu'], maxAlerts: 25 });
    expect(Object.keys(deps.alertMappings ?? {})).toEqual(['AppQueueStuck']);
  });

  it.each(['functions/alertmanager-webhook.ts', 'scripts/local-healer.ts'])('is how %s builds its webhook', (path) => {
    // Act
    const text = source(path);
    const entries = text.match(/webhookEntry\(config, /g) ?? [];
    // Assess: both build it through the one wiring (lib/wiring/webhook.ts), never by hand.
    expect(entries.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/handleWebhook\(/);
  });

  it('takes every setting of the one wiring from webhookDeps', () => {
    // Act
    const text = source('lib/wiring/webhook.ts');
    const calls = text.match(/handleWebhook\(/g) ?? [];
    const built = text.match(/\{ \.\.\.webhookDeps\(config, /g) ?? [];
    // Assess: every handleWebhook call takes its settings from webhookDeps.
    expect(calls.length).toBeGreaterThan(0);
    expect(built).toHaveLength(calls.length);
  });

  it('names every skipped alert up to a bound, and counts the rest', () => {
    // Prepare
    const skipped = Array.from({ length: MAX_SKIPS_NAMED + 3 }, (_, i) => `alert-${i} is for cluster other, not local`);
    const report = { received: skipped.length, enqueued: 0, duplicates: 0, skipped, skippedByReason: { 'other-cluster': skipped.length } };

    // Act
    const lines = skipLines(report);

    // Assess
    expect(lines).toHaveLength(MAX_SKIPS_NAMED + 1);
    expect(lines[0]).toBe('alert-0 is for cluster other, not local');
    expect(lines.at(-1)).toBe(`… and 3 more skipped ({"other-cluster":${skipped.length}})`);
  });
});

describe('clusters\' own webhook tokens', () => {
  it.each([
    ['two clusters sharing one', [{ cluster: 'a', token: 't1' }, { cluster: 'b', token: 't1' }, { cluster: 'c', token: 't2' }], 'stack', ['c'], 'stack', /configured for a and b: each cluster needs its own/],
    ['a cluster\'s equal to the stack\'s', [{ cluster: 'a', token: 't1' }, { cluster: 'c', token: 't2' }], 't1', ['c'], undefined, /configured for a and the stack/],
    ['an empty one', [{ cluster: 'a', token: '' }, { cluster: 'c', token: 't2' }], 'stack', ['c'], 'stack', /a's webhook token is empty/],
  ] as const)('drops %s (those places alone), naming the clusters and never the token', (_what, tokens, stack, kept, stackKept, problem) => {
    // Act
    const checked = distinctTokens(tokens, stack);
    // Assess
    expect(checked.clusterTokens.map((t) => t.cluster)).toEqual(kept);
    expect(checked.stackToken).toBe(stackKept);
    expect(checked.problems).toEqual([expect.stringMatching(problem)]);
    expect(checked.problems.join()).not.toMatch(/t1|t2/);
  });

  it('keeps distinct tokens, with or without the stack\'s', () => {
    expect(distinctTokens([{ cluster: 'a', token: 't1' }, { cluster: 'b', token: 't2' }], 't3')).toEqual({ clusterTokens: [{ cluster: 'a', token: 't1' }, { cluster: 'b', token: 't2' }], stackToken: 't3', problems: [] });
    expect(distinctTokens([{ cluster: 'a', token: 't1' }], undefined).problems).toEqual([]);
  });
});
