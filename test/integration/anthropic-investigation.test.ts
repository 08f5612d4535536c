import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicDiagnoser, DiagnosisUnavailable, type AnthropicDiagnoserOptions } from '../../lib/adapters/anthropic-diagnoser.js';
import { costOf } from '../../lib/diagnose/cost.js';
import { withRunbookFallback } from '../../lib/diagnose/fallback.js';
import { INVESTIGATION_TOOL_NAMES } from '../../lib/diagnose/investigation.js';
import { FINAL_STEP_NOTE, INVESTIGATION_PROMPT, UNTRUSTED_TAG, VERDICT_TOOL_NAME } from '../../lib/diagnose/prompt.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import type { Diagnosis, Evidence } from '../../lib/domain/types.js';
import { aCrashingContainer, anIncident, evidenceFor } from '../fixtures/builders.js';
import { BENIGN_LINES, SECRET_CASES } from '../fixtures/redaction-corpus.js';
import { FixtureInvestigator, type FixtureCluster } from '../support/fixture-investigator.js';
import { startMessagesApiServer, steps, type MessagesApiServer, type RecordedRequest } from '../support/messages-api-server.js';

/**
 * The investigation loop: the real @anthropic-ai/sdk against the local Messages-API server, which
 * plays scripted tool_use -> tool_result -> verdict conversations and refuses any follow-up that
 * does not answer the previous tool_use ids. The cluster side is a FixtureInvestigator that
 * records every read (the real one is tested against the control plane in
 * kubernetes-investigator.test.ts).
 */

const KEY = 'sk-ant-test-investigate-00000000000000000';
let server: MessagesApiServer;

beforeAll(async () => {
  server = await startMessagesApiServer({ apiKey: KEY });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

const incident = anIncident();
const evidence: Evidence = evidenceFor(incident);
const pod = evidence.ownerChain[0]!;
const podTarget = { kind: 'Pod', name: pod.name, namespace: 'shop' };

const verdict = (overrides: Record<string, unknown> = {}) => ({
  summary: 'web crash-looping after postgres refused connections',
  rootCause: 'The previous container exited 1 after "connection refused" from 10.0.0.7:5432; the database is reachable again.',
  category: 'transient-crash',
  confidence: 0.85,
  evidenceCited: ['previous log: connection refused'],
  restartCanHelp: true,
  recommendation: 'evict-pod',
  target: podTarget,
  ...overrides,
});

const cluster: FixtureCluster = {
  logs: {
    'app/previous': 'booting\nconnecting to postgres at 10.0.0.7:5432\nerror: dial tcp 10.0.0.7:5432: connect: connection refused\nexiting 1',
    'app/current': 'booting\nconnecting to postgres at 10.0.0.7:5432\nconnected',
  },
  events: { 'Deployment/web': [{ object: 'Deployment/web', type: 'Normal', reason: 'ScalingReplicaSet', message: 'Scaled up replica set web-7d4b9c to 3', count: 1 }] },
  objects: { 'Node/node-1': { kind: 'Node', name: 'node-1', conditions: [{ type: 'Ready', status: 'True' }] } },
};

function claude(investigator: FixtureInvestigator | undefined, overrides: Partial<AnthropicDiagnoserOptions> = {}) {
  return createAnthropicDiagnoser({
    apiKey: KEY,
    baseURL: server.baseURL,
    model: 'claude-sonnet-5-5',
    timeoutMs: 10_000,
    maxRetries: 0,
    ...(investigator ? { investigator } : {}),
    ...overrides,
  });
}

interface Body {
  tools: { name: string; cache_control?: unknown }[];
  tool_choice: unknown;
  system: { text: string; cache_control?: unknown }[];
  messages: { role: string; content: string | { type: string; text?: string; content?: string; tool_use_id?: string; is_error?: boolean; cache_control?: unknown }[] }[];
}
const bodyOf = (r: RecordedRequest | undefined): Body => r?.body as Body;
const toolNames = (r: RecordedRequest | undefined): string[] => bodyOf(r).tools.map((t) => t.name);
/** The tool_result blocks of a request's last user message. */
function toolResults(r: RecordedRequest | undefined) {
  const last = bodyOf(r).messages.at(-1);
  return typeof last?.content === 'string' ? [] : (last?.content ?? []).filter((b) => b.type === 'tool_result');
}
const lastText = (r: RecordedRequest | undefined): string => {
  const last = bodyOf(r).messages.at(-1);
  return typeof last?.content === 'string' ? last.content : (last?.content ?? []).map((b) => b.text ?? b.content ?? '').join('\n');
};

describe('the investigation loop', () => {
  it('runs a look-up the model asks for, answers its tool_use id, and then takes the verdict', async () => {
    // Prepare
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(steps.toolUse('more_logs', { container: 'app', which: 'previous', lines: 300 }, { thinking: true }), steps.verdict(verdict()));

    // Act
    const diagnosis = await claude(investigator).diagnose(incident, evidence);

    // Assess: the verdict stands, after two answered requests
    expect(diagnosis).toMatchObject({ diagnoser: 'claude', recommendation: 'evict-pod', target: pod });
    expect(server.requests.map((r) => [r.status, r.problems])).toEqual([[200, []], [200, []]]);
    expect(investigator.reads).toEqual([{ method: 'podLog', target: `Pod/${pod.name}/app`, request: { container: 'app', previous: true, tailLines: 300, limitBytes: 64 * 1024 } }]);

    // ...the first request offers the look-ups and the verdict, with static cached prefixes
    const first = bodyOf(server.requests[0]);
    expect(toolNames(server.requests[0])).toEqual([...INVESTIGATION_TOOL_NAMES, VERDICT_TOOL_NAME]);
    expect(first.tools.map((t) => t.cache_control)).toEqual([...INVESTIGATION_TOOL_NAMES.map(() => undefined), { type: 'ephemeral' }]);
    expect(first.system.map((s) => s.cache_control)).toEqual([undefined, { type: 'ephemeral' }]);
    expect(first.system[1]?.text).toBe(INVESTIGATION_PROMPT);
    expect(first.tool_choice).toEqual({ type: 'auto' }); // Sonnet 5.5 refuses forced tool use

    // ...the second answers exactly the tool_use id of the first answer, as redacted untrusted data
    expect(server.requests[1]?.toolResultsFor).toHaveLength(1);
    const [result] = toolResults(server.requests[1]);
    expect(result?.is_error).toBeUndefined();
    expect(result?.content).toContain(`<${UNTRUSTED_TAG} kind="tool-result" tool="more_logs">`);
    expect(result?.content).toContain('dial tcp 10.0.0.7:5432: connect: connection refused');
    expect(result?.cache_control).toEqual({ type: 'ephemeral' }); // the moving breakpoint

    // ...and usage is the sum of both answers, with the second reading the first one's prefix
    const [u1, u2] = server.requests.map((r) => r.usage!);
    expect(u2!.cache_read_input_tokens).toBeGreaterThan(server.requests[0]!.estimatedPrefixTokens!);
    expect(diagnosis.usage).toMatchObject({
      inputTokens: u1!.input_tokens + u2!.input_tokens,
      outputTokens: u1!.output_tokens + u2!.output_tokens,
      cacheReadTokens: u1!.cache_read_input_tokens + u2!.cache_read_input_tokens,
      cacheWriteTokens: u1!.cache_creation_input_tokens + u2!.cache_creation_input_tokens,
      requests: 2,
      steps: 2,
    });
    expect(diagnosis.usage?.costUsd).toBeCloseTo(costOf(diagnosis.usage, 'claude-sonnet-5-5')!, 12);
    expect(diagnosis.usage?.costUsd).toBeGreaterThan(0);
    // ...and the audit can say what the model looked at
    expect(diagnosis.usage?.lookups).toEqual(['more_logs {"container":"app","which":"previous","lines":300}: read']);
  });

  it('offers only the verdict tool on the last permitted step, with tool_choice auto on Sonnet 5.5', async () => {
    // Prepare: the model keeps investigating
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(
      steps.toolUse('events', { kind: 'Deployment', name: 'web' }),
      steps.toolUse('node', {}),
      steps.verdict(verdict()),
    );

    // Act
    const diagnosis = await claude(investigator, { maxSteps: 3 }).diagnose(incident, evidence);

    // Assess
    expect(diagnosis.recommendation).toBe('evict-pod');
    expect(server.requests.map((r) => toolNames(r).length)).toEqual([6, 6, 1]);
    expect(toolNames(server.requests[2])).toEqual([VERDICT_TOOL_NAME]);
    expect(bodyOf(server.requests[2]).tool_choice).toEqual({ type: 'auto' });
    expect(lastText(server.requests[2])).toContain(FINAL_STEP_NOTE);
    expect(lastText(server.requests[1])).not.toContain(FINAL_STEP_NOTE);
    // The final step's tools differ, so its conversation is not written to the cache for nothing.
    expect(JSON.stringify(bodyOf(server.requests[2]).messages)).not.toContain('cache_control');
    expect(JSON.stringify(bodyOf(server.requests[1]).messages)).toContain('cache_control');
    expect(investigator.reads.map((r) => `${r.method} ${r.target}`)).toEqual(['events Deployment/web', 'node Node/node-1']);
    expect(diagnosis.usage).toMatchObject({ steps: 3, requests: 3 });
  });

  it('forces a tool call on every step of a model that allows it, the verdict tool on the last', async () => {
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(steps.toolUse('rollout_diff', {}), steps.verdict(verdict()));

    await claude(investigator, { model: 'claude-haiku-4-5', maxSteps: 2 }).diagnose(incident, evidence);

    expect(server.requests.map((r) => bodyOf(r).tool_choice)).toEqual([{ type: 'any' }, { type: 'tool', name: VERDICT_TOOL_NAME }]);
    expect(toolNames(server.requests[1])).toEqual([VERDICT_TOOL_NAME]);
    // No rollout in this fixture cluster: the failed read is an error result, not a failed diagnosis.
    expect(toolResults(server.requests[1])[0]).toMatchObject({ is_error: true });
    expect(toolResults(server.requests[1])[0]?.content).toMatch(/Could not read \(rollout_diff\)/);
  });

  it('is a no-verdict failure, and the runbook answers, when the model skips the verdict on the last step', async () => {
    // Prepare: the scripted model ignores that only submit_verdict is offered
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(steps.toolUse('node', {}), steps.toolUse('node', {}));

    // Act
    const diagnosis = await withRunbookFallback(claude(investigator, { maxSteps: 2 }), runbookDiagnoser).diagnose(incident, evidence);

    // Assess
    expect(diagnosis.diagnoser).toBe('runbook');
    expect(diagnosis.fallbackReason).toMatch(/no-verdict: expected one submit_verdict call, got 0 .*step 2/);
    expect(diagnosis.usage).toMatchObject({ steps: 2, requests: 2 });
    expect(investigator.reads).toHaveLength(1);
  });

  it('refuses look-ups outside the owner chain and the pod\'s node without reading the cluster', async () => {
    // Prepare
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(
      steps.toolUses(
        { name: 'events', input: { kind: 'Deployment', name: 'payments', namespace: 'shop' } },
        { name: 'describe_owner', input: { kind: 'Secret', name: 'db-credentials', namespace: 'shop' } },
        { name: 'describe_owner', input: { kind: 'Pod', name: pod.name, namespace: 'kube-system' } },
        { name: 'more_logs', input: { container: 'istio-proxy', which: 'current' } },
      ),
      steps.toolUses({ name: 'events', input: { kind: 'Node', name: 'node-2' } }, { name: 'kubectl', input: { args: ['get', 'secrets'] } }),
      steps.verdict(verdict()),
    );

    // Act
    const diagnosis = await claude(investigator).diagnose(incident, evidence);

    // Assess: no read at all, every call answered with a refusal the model can read
    expect(diagnosis.diagnoser).toBe('claude');
    expect(investigator.reads).toEqual([]);
    const results = [...toolResults(server.requests[1]), ...toolResults(server.requests[2])];
    expect(results).toHaveLength(6);
    for (const r of results) {
      expect(r.is_error).toBe(true);
      expect(r.content).toMatch(/^refused: /);
    }
    expect(results[0]?.content).toContain('allowed: Pod/shop/web-7d4b9c-abcde, ReplicaSet/shop/web-7d4b9c, Deployment/shop/web, Node/node-1');
    expect(diagnosis.usage?.lookups).toHaveLength(6);
    expect(diagnosis.usage?.lookups?.every((l) => l.endsWith(': not read'))).toBe(true);
    expect(results[3]?.content).toMatch(/container "istio-proxy" is not a container/);
    expect(results[5]?.content).toMatch(/there is no tool "kubectl"/);
  });

  it('answers with at most four look-ups per step and refuses the rest', async () => {
    const investigator = new FixtureInvestigator(cluster);
    server.enqueue(steps.toolUses(...Array.from({ length: 6 }, () => ({ name: 'node', input: {} }))), steps.verdict(verdict()));

    await claude(investigator).diagnose(incident, evidence);

    expect(investigator.reads).toHaveLength(4);
    expect(toolResults(server.requests[1]).map((r) => r.is_error ?? false)).toEqual([false, false, false, false, true, true]);
  });

  it('never sends a secret from a log it reads: the whole redaction corpus planted in the previous log', async () => {
    // Prepare: every secret shape of the corpus, among ordinary lines that must survive (not at the
    // end: the corpus ends in an unterminated private key, which is redacted to the end of the text)
    const corpus = [BENIGN_LINES[0]!.line, SECRET_CASES[0]!.line, BENIGN_LINES[1]!.line, ...SECRET_CASES.slice(1).map((c) => c.line)].join('\n');
    const investigator = new FixtureInvestigator({ logs: { 'app/previous': corpus } });
    server.enqueue(steps.toolUse('more_logs', { container: 'app', which: 'previous', lines: 500 }), steps.verdict(verdict()));

    // Act: result and token budgets large enough that nothing is cut, so nothing can hide behind truncation
    await claude(investigator, { toolResultBytes: 256 * 1024, maxInputTokens: 1_000_000 }).diagnose(incident, evidence);

    // Assess
    expect(server.requests).toHaveLength(2);
    const sent = server.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n');
    for (const c of SECRET_CASES) for (const secret of c.secrets) expect(sent.includes(secret), `${c.shape} leaked`).toBe(false);
    const result = toolResults(server.requests[1])[0]?.content ?? '';
    expect(result).toContain(BENIGN_LINES[0]!.line);
    expect(result).toContain(BENIGN_LINES[1]!.line);
    expect(result).toContain('AWS_REGION=eu-west-1'); // context around a secret survives
    expect(result).toContain('AWS_SECRET_ACCESS_KEY=[REDACTED]');
  });

  describe('the input-token budget', () => {
    /** Prompt tokens of the first request, measured on the same server. */
    async function firstPromptTokens(): Promise<number> {
      server.enqueue(steps.verdict(verdict()));
      const d = await claude(new FixtureInvestigator(cluster)).diagnose(incident, evidence);
      server.reset();
      return d.usage!.inputTokens + d.usage!.cacheReadTokens! + d.usage!.cacheWriteTokens!;
    }

    it('answers a look-up unread and makes the next request the last when its result would not fit', async () => {
      // Prepare: room for the first prompt twice, not for a result on top
      const prompt = await firstPromptTokens();
      const investigator = new FixtureInvestigator(cluster);
      server.enqueue(steps.toolUse('more_logs', { container: 'app', which: 'previous' }), steps.verdict(verdict()));

      // Act
      const diagnosis = await claude(investigator, { maxInputTokens: 2 * prompt + 600 }).diagnose(incident, evidence);

      // Assess
      expect(diagnosis.diagnoser).toBe('claude');
      expect(investigator.reads).toEqual([]);
      expect(toolNames(server.requests[1])).toEqual([VERDICT_TOOL_NAME]);
      expect(toolResults(server.requests[1])[0]).toMatchObject({ is_error: true, content: expect.stringMatching(/^not run: input-token budget/) as string });
      const spent = diagnosis.usage!.inputTokens + diagnosis.usage!.cacheReadTokens! + diagnosis.usage!.cacheWriteTokens!;
      expect(spent).toBeLessThanOrEqual(2 * prompt + 600);
    });

    it('stops, and the runbook answers with what was spent, when not even a final request fits', async () => {
      const prompt = await firstPromptTokens();
      const investigator = new FixtureInvestigator(cluster);
      server.enqueue(steps.toolUse('node', {}), steps.verdict(verdict()));

      const diagnosis = await withRunbookFallback(claude(investigator, { maxInputTokens: prompt + 50 }), runbookDiagnoser).diagnose(incident, evidence);

      expect(diagnosis.diagnoser).toBe('runbook');
      expect(diagnosis.fallbackReason).toMatch(/over-budget: input-token budget: \d+ of \d+ spent after 1 step/);
      expect(diagnosis.usage).toMatchObject({ steps: 1, requests: 1 });
      expect(server.requests).toHaveLength(1);
      expect(server.pending()).toBe(1);
      expect(investigator.reads).toEqual([]);
    });
  });

  describe('the deadline', () => {
    it('makes the next request the last when there is no time for another round', async () => {
      // Prepare: a slow first answer; 4 s in all leaves room for the look-up and one request, not
      // for a second round (a look-up's own 5 s limit plus two steps). Each request is given 1.5 s
      // at least, so a busy machine's pause does not run the last one out of time.
      const investigator = new FixtureInvestigator(cluster);
      server.enqueue({ ...steps.toolUse('node', {}), delayMs: 600 }, steps.verdict(verdict()));

      // Act
      const diagnosis = await claude(investigator, { minAttemptMs: 1500 }).diagnose(incident, evidence, { deadline: Date.now() + 4000 });

      // Assess
      expect(diagnosis.diagnoser).toBe('claude');
      expect(investigator.reads).toHaveLength(1);
      expect(toolNames(server.requests[1])).toEqual([VERDICT_TOOL_NAME]);
    });

    it('abandons a slow look-up at the deadline and still asks for the verdict', async () => {
      // Prepare: a look-up that would take 10 s; 4 s in all, at least 1.5 s kept for the verdict request.
      const investigator = new FixtureInvestigator({ ...cluster, delayMs: 10_000 });
      server.enqueue(steps.toolUse('node', {}), steps.verdict(verdict()));

      // Act
      const start = Date.now();
      const diagnosis = await claude(investigator, { minAttemptMs: 1500 }).diagnose(incident, evidence, { deadline: start + 4000 });

      // Assess: it did not wait for the look-up (10 s), and asked anyway.
      expect(Date.now() - start).toBeLessThan(6000);
      expect(diagnosis.diagnoser).toBe('claude');
      expect(toolResults(server.requests[1])[0]?.content).toMatch(/timed out after \d+ ms/);
    });

    it('gives up with the usage so far when the next answer does not come in time', async () => {
      const investigator = new FixtureInvestigator(cluster);
      server.enqueue(steps.toolUse('node', {}), steps.hang());

      const result: Diagnosis = await withRunbookFallback(claude(investigator), runbookDiagnoser).diagnose(incident, evidence, { deadline: Date.now() + 1500 });

      expect(result.diagnoser).toBe('runbook');
      expect(result.fallbackReason).toMatch(/timeout/);
      expect(result.usage).toMatchObject({ steps: 1, requests: 2 });
    });
  });

  it('keeps the single-request behaviour without an investigator', async () => {
    server.enqueue(steps.toolUse('more_logs', { container: 'app', which: 'previous' }));

    const error = await claude(undefined).diagnose(incident, evidenceFor(incident, { containers: [aCrashingContainer()] })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DiagnosisUnavailable);
    expect((error as DiagnosisUnavailable).reason).toBe('no-verdict');
    expect(toolNames(server.requests[0])).toEqual([VERDICT_TOOL_NAME]);
    expect(server.requests).toHaveLength(1);
  });
});

describe('the local Messages-API server in a tool conversation', () => {
  const headers = { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
  const tools = [{ name: 'node', description: 'the node', input_schema: { type: 'object', properties: {} } }];
  const post = async (messages: unknown[]) => {
    const response = await fetch(`${server.baseURL}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 100, tools, messages }) });
    return { status: response.status, body: (await response.json()) as { content: { type: string; id?: string }[]; error?: { message: string } } };
  };
  const question = { role: 'user', content: 'why does web crash?' };

  it('refuses a follow-up that does not answer the tool_use id, answers another id, or changes the assistant turn', async () => {
    // Prepare: one answer with a thinking block and a tool call
    server.enqueue(steps.toolUses({ name: 'node', input: {} }), steps.verdict(verdict()));
    const first = await post([question]);
    const turn = { role: 'assistant', content: first.body.content };
    const toolUseId = first.body.content.find((b) => b.type === 'tool_use')?.id ?? '';
    const result = (id: string) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'Ready' }] });

    // Act
    const unanswered = await post([question, turn, { role: 'user', content: 'go on' }]);
    const otherId = await post([question, turn, result('toolu_not_issued')]);
    const edited = await post([question, { ...turn, content: first.body.content.map((b) => (b.type === 'thinking' ? { ...b, thinking: 'edited' } : b)) }, result(toolUseId)]);
    const good = await post([question, turn, result(toolUseId)]);

    // Assess
    expect(unanswered.status).toBe(400);
    expect(unanswered.body.error?.message).toMatch(/tool_use ids were found without tool_result blocks immediately after/);
    expect(otherId.status).toBe(400);
    expect(otherId.body.error?.message).toMatch(/unexpected tool_use_id found in tool_result blocks: toolu_not_issued/);
    expect(edited.status).toBe(400);
    expect(edited.body.error?.message).toMatch(/differs from the response it came from/);
    expect(good.status).toBe(200);
    expect(server.requests.at(-1)?.toolResultsFor).toEqual([toolUseId]);
    expect(server.pending()).toBe(0); // refused requests consumed no step
  });
});
