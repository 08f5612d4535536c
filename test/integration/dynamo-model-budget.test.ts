/**
 * The daily model budget on a real DynamoDB Local, and the fallback around it with the real SDK
 * against the local Messages-API server: a spent budget means the runbook diagnoses and the page
 * says why; an unreadable budget means the runbook too (never the model).
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicDiagnoser } from '../../lib/adapters/anthropic-diagnoser.js';
import { resetAwsClients } from '../../lib/adapters/aws-clients.js';
import { loadKubeConfig } from '../../lib/adapters/kubernetes.js';
import { loadConfig } from '../../lib/config/config.js';
import { modelDiagnoserFromConfig } from '../../lib/wiring/model-diagnoser.js';
import { DynamoModelBudget, modelSpendKey, utcDay } from '../../lib/adapters/dynamo-model-budget.js';
import { totalTokens } from '../../lib/diagnose/cost.js';
import { withRunbookFallback } from '../../lib/diagnose/fallback.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { buildNotification } from '../../lib/pipeline/notification.js';
import { anIncident, evidenceFor } from '../fixtures/builders.js';
import { createTables, dynamoDbLocalUnavailable, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { startMessagesApiServer, steps, type MessagesApiServer } from '../support/messages-api-server.js';
import { mustRun } from '../support/process.js';

const unavailable = dynamoDbLocalUnavailable();
// In the future on purpose: DynamoDB Local's TTL sweeper deletes items whose expiresAt has passed,
// at random moments. A day boundary plus an hour, so the test also knows which UTC day it is.
const T0 = Math.ceil((Date.now() + 24 * 3600 * 1000) / 86_400_000) * 86_400_000 + 3600_000;
const KEY = 'sk-ant-test-budget-000000000000000000000000';

describe.skipIf(unavailable !== undefined && !mustRun())('the daily model budget on DynamoDB Local', () => {
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  let server: MessagesApiServer;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };
  const budget = (dailyUsd = 20, dailyTokens?: number) =>
    new DynamoModelBudget({ tableName: tables.state, client, limits: { dailyUsd, ...(dailyTokens !== undefined ? { dailyTokens } : {}) } });
  const rawItem = async (day: string) => {
    const { Item } = await client.send(new GetItemCommand({ TableName: tables.state, Key: marshall({ pk: modelSpendKey(day) }), ConsistentRead: true }));
    return Item === undefined ? undefined : unmarshall(Item);
  };

  beforeAll(async () => {
    [dynamo, server] = await Promise.all([startDynamoDbLocal(), startMessagesApiServer({ apiKey: KEY })]);
    client = dynamo.client();
    await createTables(client, tables);
  });
  afterAll(async () => {
    await Promise.all([dynamo?.stop(), server?.close()]);
  });
  beforeEach(() => server.reset());

  it('starts every UTC day at zero', async () => {
    const state = await budget().today(T0 + 30 * 86_400_000);
    expect(state).toEqual({ day: utcDay(T0 + 30 * 86_400_000), spentUsd: 0, spentTokens: 0, diagnoses: 0, limits: { dailyUsd: 20 } });
  });

  it('counts every one of 40 concurrent records exactly, in one item per day with a TTL days ahead', async () => {
    // Prepare: 40 workers recording at once, each from its own adapter instance
    const at = T0 + 2 * 86_400_000;
    const day = utcDay(at);

    // Act
    await Promise.all(Array.from({ length: 40 }, (_, i) => budget().record({ usd: 0.012345 + i / 1e6, tokens: 1000 + i }, at)));
    const state = await budget().today(at + 3600_000);

    // Assess: sum of 0.012345 + i µ$ for i < 40 = 0.4938 + 780 µ$; tokens 40,000 + 780
    expect(state.diagnoses).toBe(40);
    expect(state.spentTokens).toBe(40_780);
    expect(state.spentUsd).toBeCloseTo(0.49458, 6);
    const item = await rawItem(day);
    const dayEnd = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    expect(item).toMatchObject({ untilMs: dayEnd + 3 * 86_400_000, expiresAt: (dayEnd + 3 * 86_400_000) / 1000 });
    // The next day is a new counter.
    expect((await budget().today(at + 86_400_000)).diagnoses).toBe(0);
  });

  it('diagnoses with the runbook, says why in the page, and asks no model once the day is spent', async () => {
    // Prepare: $20.01 already spent today
    const at = T0 + 4 * 86_400_000;
    await budget().record({ usd: 20.01, tokens: 5_000_000 }, at);
    server.enqueue(steps.verdict({}));
    const incident = anIncident();
    const evidence = evidenceFor(incident);
    const model = createAnthropicDiagnoser({ apiKey: KEY, baseURL: server.baseURL, model: 'claude-sonnet-5-5', timeoutMs: 5000, maxRetries: 0 });
    const healer = withRunbookFallback(model, runbookDiagnoser, { budget: budget(), clock: { now: () => at } });

    // Act
    const diagnosis = await healer.diagnose(incident, evidence);
    const page = buildNotification({
      incident, evidence, diagnosis, action: undefined, outcome: 'dry-run',
      decision: { allowed: true, verdicts: [], dryRun: true },
    });

    // Assess
    expect(diagnosis.diagnoser).toBe('runbook');
    expect(diagnosis.fallbackReason).toBe(`the daily model budget is spent: $20.01 of $20.00 on ${utcDay(at)} (UTC, 1 model diagnoses); runbook used`);
    expect(page.body).toContain('the daily model budget is spent: $20.01 of $20.00');
    expect(server.requests).toHaveLength(0);
    expect(server.pending()).toBe(1);
  });

  it('falls back to the runbook, never the model, when the budget cannot be read', async () => {
    // Prepare: a table that does not exist
    const broken = new DynamoModelBudget({ tableName: `missing-${randomUUID()}`, client, limits: { dailyUsd: 20 } });
    server.enqueue(steps.verdict({}));
    const model = createAnthropicDiagnoser({ apiKey: KEY, baseURL: server.baseURL, model: 'claude-sonnet-5-5', timeoutMs: 5000, maxRetries: 0 });
    const incident = anIncident();

    // Act
    const diagnosis = await withRunbookFallback(model, runbookDiagnoser, { budget: broken }).diagnose(incident, evidenceFor(incident));

    // Assess
    expect(diagnosis.diagnoser).toBe('runbook');
    expect(diagnosis.fallbackReason).toMatch(/^the daily model budget could not be read, runbook used: .*(non-existent|not found)/i);
    expect(server.requests).toHaveLength(0);
  });

  it('adds what a model diagnosis spent, tokens and cost, whether its answer stood or not', async () => {
    // Prepare
    const at = T0 + 6 * 86_400_000;
    const incident = anIncident();
    const evidence = evidenceFor(incident);
    const podTarget = { kind: 'Pod', name: incident.subject.name, namespace: 'shop' };
    server.enqueue(
      steps.verdict({ summary: 'transient', rootCause: 'postgres refused connections', category: 'transient-crash', confidence: 0.9, evidenceCited: [], restartCanHelp: true, recommendation: 'evict-pod', target: podTarget }),
      steps.verdict({ recommendation: 'delete-deployment' }), // refused by validation: the runbook answers
    );
    const model = createAnthropicDiagnoser({ apiKey: KEY, baseURL: server.baseURL, model: 'claude-sonnet-5-5', timeoutMs: 5000, maxRetries: 0 });
    const healer = withRunbookFallback(model, runbookDiagnoser, { budget: budget(), clock: { now: () => at } });

    // Act
    const stood = await healer.diagnose(incident, evidence);
    const refused = await healer.diagnose(incident, evidence);
    const state = await budget().today(at);

    // Assess
    expect(stood.diagnoser).toBe('claude');
    expect(refused.diagnoser).toBe('runbook');
    expect(refused.usage?.costUsd).toBeGreaterThan(0);
    expect(state.diagnoses).toBe(2);
    expect(state.spentTokens).toBe(totalTokens(stood.usage) + totalTokens(refused.usage));
    expect(state.spentUsd).toBeCloseTo((stood.usage?.costUsd ?? 0) + (refused.usage?.costUsd ?? 0), 5);
  });

  it('is wired into the worker\'s diagnoser from configuration, on the shared client', async () => {
    // Prepare: the environment the worker gets, a budget of $0 (never ask the model)
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    resetAwsClients();
    try {
      const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.baseURL, HEALER_STATE_TABLE: tables.state, HEALER_MODEL_DAILY_BUDGET_USD: '0' });
      const kubeConfig = loadKubeConfig({ kubeconfigYaml: 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n' });
      server.enqueue(steps.verdict({}));
      const incident = anIncident();

      // Act
      const diagnosis = await modelDiagnoserFromConfig(config, { apiKey: undefined, kubeConfig }).diagnose(incident, evidenceFor(incident));

      // Assess
      expect(diagnosis.diagnoser).toBe('runbook');
      expect(diagnosis.fallbackReason).toMatch(/^the daily model budget is spent: \$0\.00 of \$0\.00 on \d{4}-\d{2}-\d{2} \(UTC/);
      expect(server.requests).toHaveLength(0);
    } finally {
      resetAwsClients();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it.each([
    ['a model without a price and no token budget is never asked: the runbook answers and says why', {}, 0],
    ['the same model with a token budget is asked: its spend is bounded in tokens', { HEALER_MODEL_DAILY_BUDGET_TOKENS: '100000' }, 1],
  ] as const)('%s', async (_name, extraEnv, requests) => {
    // Prepare: a model name no price table knows; the real SDK against the local Messages API.
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    resetAwsClients();
    try {
      const config = loadConfig({ ANTHROPIC_BASE_URL: server.baseURL, HEALER_STATE_TABLE: tables.state, HEALER_MODEL: 'claude-unpriced-9', HEALER_MODEL_MAX_STEPS: '1', ...extraEnv });
      const kubeConfig = loadKubeConfig({ kubeconfigYaml: 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n' });
      server.enqueue(steps.verdict({}));
      const incident = anIncident();

      // Act
      const diagnosis = await modelDiagnoserFromConfig(config, { apiKey: KEY, kubeConfig }).diagnose(incident, evidenceFor(incident));

      // Assess
      expect(server.requests).toHaveLength(requests);
      if (requests === 0) {
        expect(diagnosis.diagnoser).toBe('runbook');
        expect(diagnosis.fallbackReason).toMatch(/^model claude-unpriced-9 has no price on file \(HEALER_MODEL_PRICES\) and no token budget is set/);
      }
    } finally {
      resetAwsClients();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
