/**
 * Every exit, end to end. For every secret of the redaction corpus, evidence that holds it (log
 * tails, events, container args and commands shown by the investigation tools, alert labels and
 * annotations, evidence gaps) produces:
 * - a model request: the real @anthropic-ai/sdk against the local Messages-API server, with a round
 *   of look-ups (describe_owner, more_logs, events) answered from a cluster that holds the secret;
 * - a page: buildNotification, then what the SNS adapter publishes of it;
 * - audit entries: the DynamoAuditLog adapter on DynamoDB Local, read back as raw items;
 * and the secret appears in none of them. Nothing here is mocked: the cluster is a fixture
 * investigator that answers unredacted, as a careless adapter would.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicDiagnoser, buildStepRequest } from '../../lib/adapters/anthropic-diagnoser.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { snsPage } from '../../lib/pages/sns-message.js';
import { buildPrompt, VERDICT_TOOL_NAME } from '../../lib/diagnose/prompt.js';
import type { Decision, Diagnosis, Evidence, Incident, Notification } from '../../lib/domain/types.js';
import { REDACTED } from '../../lib/evidence/redact.js';
import { buildNotification } from '../../lib/pipeline/notification.js';
import { aCrashingContainer, anIncident, evidenceFor } from '../fixtures/builders.js';
import { BENIGN_LINES, SECRET_CASES, type SecretCase } from '../fixtures/redaction-corpus.js';
import { createTables, dynamoDbLocalUnavailable, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { FixtureInvestigator } from '../support/fixture-investigator.js';
import { startMessagesApiServer, steps, type MessagesApiServer } from '../support/messages-api-server.js';
import { mustRun } from '../support/process.js';

const KEY = 'sk-ant-test-exits-000000000000000000000';
const LOCATIONS = ['previous-log', 'current-log', 'event', 'tool-args', 'tool-command', 'labels', 'annotations', 'gaps'] as const;
type Location = (typeof LOCATIONS)[number];

const verdict = {
  summary: 'web crash-looping; a human should look',
  rootCause: 'The previous container exited 1; the evidence does not say why.',
  category: 'unknown',
  confidence: 0.4,
  evidenceCited: ['previous log: exited 1'],
  restartCanHelp: false,
  recommendation: 'page',
};

const denied: Decision = {
  allowed: false,
  verdicts: [{ rule: 'recommendation-is-action', reason: 'the diagnosis recommends page' }],
  deniedBy: 'recommendation-is-action',
  reason: 'the diagnosis recommends page',
  dryRun: false,
};

/** An incident and its evidence holding `text` in the given places, and the cluster behind them. */
function planted(text: string, where: readonly Location[], context: string) {
  const at = (l: Location): boolean => where.includes(l);
  const around = (s: string): string => `${context}\n${s}\nexiting 1`;
  const base = anIncident({ id: randomUUID().replace(/-/g, '') });
  const incident: Incident = {
    ...base,
    labels: at('labels') ? { pod: base.subject.name, note: text } : { pod: base.subject.name },
    annotations: at('annotations') ? { description: text, runbook_url: 'https://runbooks.example.com/crashloop' } : {},
  };
  const pod = `Pod/${incident.subject.name}`;
  const events = at('event') ? [{ object: pod, type: 'Warning', reason: 'BackOff', message: text, count: 3 }] : [];
  const evidence: Evidence = evidenceFor(incident, {
    containers: [aCrashingContainer({
      ...(at('previous-log') ? { previousLogTail: around(text) } : {}),
      ...(at('current-log') ? { currentLogTail: around(text) } : {}),
    })],
    events,
    gaps: at('gaps') ? [`reading the current log of shop/${incident.subject.name}/app failed: ${text}`] : [],
  });
  const container = {
    name: 'app',
    image: 'registry.example.com/shop/web:1.42.0',
    ...(at('tool-command') ? { command: ['sh', '-c', text] } : {}),
    ...(at('tool-args') ? { args: [text] } : {}),
  };
  const investigator = new FixtureInvestigator({
    logs: { 'app/previous': around(at('previous-log') ? text : 'booting'), 'app/current': around(at('current-log') ? text : 'booting') },
    events: { [pod]: events },
    objects: { [pod]: { kind: 'Pod', name: incident.subject.name, namespace: 'shop', containers: [container] } },
  });
  return { incident, evidence, investigator };
}

const unavailable = dynamoDbLocalUnavailable();

describe.skipIf(unavailable !== undefined && !mustRun())('no exit carries a corpus secret', () => {
  let server: MessagesApiServer;
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  let audit: DynamoAuditLog;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };

  beforeAll(async () => {
    server = await startMessagesApiServer({ apiKey: KEY });
    dynamo = await startDynamoDbLocal();
    client = dynamo.client();
    await createTables(client, tables);
    audit = new DynamoAuditLog({ tableName: tables.audit, client });
  });
  afterAll(async () => {
    await server?.close();
    await dynamo?.stop();
  });
  beforeEach(() => server.reset());

  /** Diagnoses, pages and audits one incident as the worker would; returns every byte that left. */
  async function exits(incident: Incident, evidence: Evidence, investigator: FixtureInvestigator) {
    server.reset();
    server.enqueue(
      steps.toolUses(
        { name: 'describe_owner', input: { kind: 'Pod', name: incident.subject.name, namespace: 'shop' } },
        { name: 'more_logs', input: { container: 'app', which: 'previous', lines: 50 } },
        { name: 'events', input: { kind: 'Pod', name: incident.subject.name, namespace: 'shop' } },
      ),
      steps.verdict(verdict),
    );
    const diagnoser = createAnthropicDiagnoser({
      apiKey: KEY, baseURL: server.baseURL, model: 'claude-sonnet-5-5', timeoutMs: 20_000, maxRetries: 0, investigator,
      toolResultBytes: 64 * 1024, maxInputTokens: 1_000_000,
    });
    const diagnosis: Diagnosis = await diagnoser.diagnose(incident, evidence);
    const page = buildNotification({ incident, evidence, diagnosis, decision: denied, action: undefined, outcome: 'paged' });
    const entries = [
      { step: 'intake' as const, detail: { subject: incident.subject, labels: incident.labels, annotations: incident.annotations } },
      { step: 'evidence' as const, detail: { ...evidence } },
      { step: 'diagnosis' as const, detail: { ...diagnosis } },
      { step: 'notification' as const, detail: { subject: page.subject, body: page.body } },
    ];
    for (const [i, e] of entries.entries()) {
      await audit.append({ incidentId: incident.id, at: new Date(Date.UTC(2026, 10, 25, 3, 0, i)).toISOString(), cluster: incident.cluster, ...e });
    }
    const stored = await client.send(new QueryCommand({
      TableName: tables.audit, KeyConditionExpression: 'incidentId = :id', ExpressionAttributeValues: marshall({ ':id': incident.id }), ConsistentRead: true,
    }));
    return {
      diagnosis,
      requests: server.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`),
      page: `${page.subject}\n${page.body}`,
      published: publishedText(page),
      stored: JSON.stringify(stored.Items ?? []),
      storedCount: stored.Items?.length ?? 0,
    };
  }

  /**
   * Every string the SNS exit publishes (subject, attributes, each protocol's body), decoded: a
   * secret with a quote or backslash in it would hide behind JSON escaping in the raw message.
   */
  function publishedText(page: Notification): string {
    const out = snsPage(page);
    const members = JSON.parse(out.message) as Record<string, string>;
    const strings: string[] = [out.subject, ...Object.values(out.attributes)];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) collect(v);
    };
    for (const [name, body] of Object.entries(members)) collect(name === 'email' ? body : JSON.parse(body));
    return strings.join('\n');
  }

  function assessNoLeak(c: SecretCase, out: Awaited<ReturnType<typeof exits>>): void {
    for (const secret of c.secrets) {
      expect(out.requests.some((r) => r.includes(secret)), `${c.shape}: ${secret} sent to the model`).toBe(false);
      expect(out.page.includes(secret), `${c.shape}: ${secret} paged`).toBe(false);
      expect(out.published.includes(secret), `${c.shape}: ${secret} published`).toBe(false);
      expect(out.stored.includes(secret), `${c.shape}: ${secret} audited`).toBe(false);
    }
  }

  it.each(SECRET_CASES.map((c) => [c.shape, c] as const))('%s: in every place at once', async (_shape, c) => {
    // Prepare
    const { incident, evidence, investigator } = planted(c.line, LOCATIONS, BENIGN_LINES[0]!.line);

    // Act
    const out = await exits(incident, evidence, investigator);

    // Assess: the look-ups were answered (the secret was read from the cluster), then nothing leaked
    expect(out.diagnosis.diagnoser).toBe('claude');
    expect(investigator.reads.map((r) => r.method).sort()).toEqual(['describe', 'events', 'podLog']);
    expect(out.requests).toHaveLength(2);
    expect(out.storedCount).toBe(4);
    assessNoLeak(c, out);
  });

  it('keeps what is not secret in every exit (the benign corpus in every place)', async () => {
    // Prepare
    const line = BENIGN_LINES.map((b) => b.line).join('\n');
    const { incident, evidence, investigator } = planted(line, ['previous-log', 'event', 'tool-args', 'gaps'], 'starting');

    // Act
    const out = await exits(incident, evidence, investigator);

    // Assess: the model saw the log, the tool's answer and the gap as they were (up to JSON escaping)
    const first = JSON.parse(server.requests[0]?.rawBody ?? '{}') as { messages: { content: { text: string }[] }[] };
    const prompt = first.messages[0]?.content[0]?.text ?? '';
    for (const b of BENIGN_LINES.slice(0, 10)) expect(prompt, b.name).toContain(b.line);
    expect(out.page).toContain(BENIGN_LINES[0]!.line);
  });

  it('sends, pages and audits no secret wherever in the evidence it sits, among ordinary lines', async () => {
    const where = fc.uniqueArray(fc.constantFrom(...LOCATIONS), { minLength: 1, maxLength: LOCATIONS.length });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SECRET_CASES), where, fc.constantFrom(...BENIGN_LINES.map((b) => b.line)), async (c, places, context) => {
        // Prepare
        const { incident, evidence, investigator } = planted(c.line, places, context);
        // Act
        const out = await exits(incident, evidence, investigator);
        // Assess
        assessNoLeak(c, out);
      }),
      { numRuns: 40 },
    );
  });
});

describe('the Anthropic request as it leaves the adapter', () => {
  it('redacts the user side once more and sends the model\'s own turns back unchanged', () => {
    // Prepare: a conversation whose user side still holds secrets (as if a step had not redacted)
    const incident = anIncident();
    const prompt = buildPrompt(incident, evidenceFor(incident));
    const thinking = { type: 'thinking', thinking: 'the log says --db-password Xk2pQ9vL', signature: 'sig' } as const;
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: `${prompt.user}\nmysql -uroot -pXk2pQ9vL` }] },
      { role: 'assistant', content: [thinking, { type: 'tool_use', id: 'toolu_1', name: 'describe_owner', input: { kind: 'Pod', name: 'web' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"args":["--db-password","Nq7vR2kZ"]}' }] },
    ];

    // Act
    const request = buildStepRequest({ model: 'claude-sonnet-5-5', maxTokens: 1024, forced: false, investigating: true, final: false, messages });
    const again = buildStepRequest({ model: 'claude-sonnet-5-5', maxTokens: 1024, forced: false, investigating: true, final: false, messages: request.messages });

    // Assess
    const [user, assistant, result] = request.messages;
    expect(JSON.stringify(user)).not.toContain('Xk2pQ9vL');
    expect(JSON.stringify(user)).toContain(`-p${REDACTED}`);
    expect(result?.content).toEqual([expect.objectContaining({ type: 'tool_result', content: `{"args":["--db-password","${REDACTED}"]}` })]);
    expect(assistant).toEqual(messages[1]);
    expect(JSON.stringify(request.tools)).toContain(VERDICT_TOOL_NAME);
    expect(JSON.stringify(again.messages)).toBe(JSON.stringify(request.messages));
  });
});
