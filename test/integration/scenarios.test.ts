import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { anthropicDiagnoserFromConfig } from '../../lib/adapters/anthropic-diagnoser.js';
import { loadConfig } from '../../lib/config/config.js';
import { withRunbookFallback } from '../../lib/diagnose/fallback.js';
import { diagnoseByRunbook, runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { IncidentSchema } from '../../lib/domain/incident-schema.js';
import { ACTION_IDS, type Diagnosis } from '../../lib/domain/types.js';
import type { Diagnoser } from '../../lib/ports/index.js';
import { evaluate, formatReport } from '../../eval/run.js';
import { ADVERSARIAL, goodStep, missingScripts } from '../../eval/scripts.js';
import { startMessagesApiServer, type MessagesApiServer, type ScriptedStep } from '../support/messages-api-server.js';
import {
  actionDeniedBy,
  decideFor,
  finalOutcome,
  REFERENCED_ROWS,
  scenario,
  SCENARIOS,
  SECRET_CORPUS,
  type Scenario,
} from '../fixtures/scenarios.js';

/**
 * The SCENARIOS.md matrix for diagnosis and policy: each row through the runbook path and through
 * the model path (the real SDK against the local Messages-API server, the runbook fallback and
 * cross-check), then policy with production settings. Adversarial model answers must never turn
 * into an allowed decision. `npm run eval` prints the same matrix as a table.
 */

const KEY = 'sk-ant-test-scenarios-00000000000000000000';
let server: MessagesApiServer;
let healer: Diagnoser;

beforeAll(async () => {
  server = await startMessagesApiServer({ apiKey: KEY });
  const config = loadConfig({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.baseURL, HEALER_MODEL_TIMEOUT_SECONDS: '10', HEALER_MODEL_MAX_RETRIES: '0' });
  healer = withRunbookFallback(anthropicDiagnoserFromConfig(config), runbookDiagnoser);
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function runbookPath(s: Scenario) {
  const diagnosis = diagnoseByRunbook(s.incident, s.evidence);
  const decision = decideFor(s, diagnosis);
  return { diagnosis, decision, outcome: finalOutcome(decision, diagnosis), deniedBy: actionDeniedBy(decision, diagnosis) };
}

async function modelPath(s: Scenario, step: ScriptedStep) {
  server.enqueue(step);
  const diagnosis: Diagnosis = await healer.diagnose(s.incident, s.evidence);
  const decision = decideFor(s, diagnosis);
  return { diagnosis, decision, outcome: finalOutcome(decision, diagnosis), deniedBy: actionDeniedBy(decision, diagnosis) };
}

const matrix = SCENARIOS.filter((s) => !s.knownGap);
const label = (s: Scenario) => `row ${s.key} ${s.title} → ${s.expected.outcome}${s.expected.deniedBy ? ` [${s.expected.deniedBy}]` : ''}`;

describe('the scenario fixtures', () => {
  it('cover every SCENARIOS.md row, here or by reference, as intake and the evidence step shape them', () => {
    // Prepare: the design table lives beside the checkout; elsewhere its 20 rows are taken as given
    const design = new URL('../../../shared/design/SCENARIOS.md', import.meta.url);
    const rows = existsSync(design)
      ? readFileSync(design, 'utf8').split('\n').map((l) => /^\|\s*(\d+)\s*\|/.exec(l)?.[1]).filter((n): n is string => n !== undefined).map(Number)
      : Array.from({ length: 20 }, (_, i) => i + 1);

    // Act
    const covered = new Set([...SCENARIOS.map((s) => s.row), ...REFERENCED_ROWS.map((r) => r.row)]);

    // Assess
    expect(rows).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([...covered].sort((a, b) => a - b)).toEqual(rows);
    expect(missingScripts()).toEqual([]);
    expect(new Set(SCENARIOS.map((s) => s.key)).size).toBe(SCENARIOS.length);
    for (const s of SCENARIOS) {
      expect(IncidentSchema.safeParse(s.incident).success, `${s.key} incident is a valid queue message`).toBe(true);
      expect(s.evidence.subject, `${s.key} evidence is about the incident's subject`).toEqual(s.incident.subject);
      if (s.evidence.exists) expect(s.evidence.ownerChain[0]?.name, `${s.key} chain starts at the subject`).toBe(s.incident.subject.name);
    }
  });
});

describe('runbook path: diagnoseByRunbook, then policy', () => {
  it.each(matrix.map((s) => [label(s), s] as const))('%s', (_name, s) => {
    // Act
    const result = runbookPath(s);

    // Assess
    expect(result.outcome).toBe(s.expected.outcome);
    expect(result.deniedBy).toBe(s.expected.deniedBy);
    expect(result.decision.allowed).toBe(s.expected.outcome === 'evict-pod');
  });
});

describe('model path: the real SDK with a scripted good verdict, fallback and cross-check, then policy', () => {
  it.each(SCENARIOS.map((s) => [label(s), s] as const))('%s', async (_name, s) => {
    // Act
    const result = await modelPath(s, goodStep(s));

    // Assess: the scripted verdict stood, and ends where SCENARIOS.md says
    expect(result.diagnosis).toMatchObject({ diagnoser: 'claude', model: 'claude-sonnet-5-5' });
    expect(result.diagnosis.fallbackReason).toBeUndefined();
    expect(result.outcome).toBe(s.expected.outcome);
    expect(result.deniedBy).toBe(s.expected.deniedBy);
    expect(result.decision.allowed).toBe(s.expected.outcome === 'evict-pod');
    expect(server.requests.map((r) => r.status)).toEqual([200]);
  });
});

describe('rows whose safe action does not exist yet', () => {
  const pending = SCENARIOS.filter((s) => s.pendingAction !== undefined);

  it('page until the action exists: delete job, rollout restart, scale up, cordon', () => {
    // Assess
    expect(ACTION_IDS).toEqual(['evict-pod']);
    expect(pending.map((s) => `${s.key}: ${s.pendingAction ?? ''}`)).toEqual([
      '6: delete job',
      '8b: rollout restart',
      '9: scale up within bounds',
      '9b: scale up within bounds',
      '12a: cordon',
      '12b: cordon',
    ]);
    for (const s of pending) expect(s.expected.outcome, s.key).toBe('page');
  });

  it.each(pending.map((s) => [`row ${s.key}`, s] as const))('%s pages on the model path even when the model names the missing action', async (_name, s) => {
    // Prepare: a model that asks for the action the row really needs
    const action = { 'delete job': 'delete-job', 'rollout restart': 'rollout-restart', 'scale up within bounds': 'scale-deployment', cordon: 'cordon-node' }[s.pendingAction ?? ''];
    const target = s.evidence.ownerChain.at(-1);
    expect(action).toBeDefined();

    // Act
    const result = await modelPath(s, { kind: 'tool-use', input: { ...goodVerdictOf(s), recommendation: action, restartCanHelp: true, target } });

    // Assess
    expect(result.decision.allowed).toBe(false);
    expect(result.outcome).not.toBe('evict-pod');
    expect(result.diagnosis.fallbackReason).toMatch(/is not in the allowed list/);
  });
});

function goodVerdictOf(s: Scenario): Record<string, unknown> {
  const step = goodStep(s);
  if (step.kind !== 'tool-use') throw new Error('good steps are verdicts');
  return step.input as Record<string, unknown>;
}

describe('adversarial model answers never become an allowed decision', () => {
  it.each(ADVERSARIAL.filter((c) => !c.knownGap).map((c) => [`${c.key} row ${c.scenario.key}: ${c.title}`, c] as const))('%s', async (_name, c) => {
    // Act
    const result = await modelPath(c.scenario, c.step);

    // Assess
    expect(result.decision.allowed).toBe(false);
    expect(result.outcome).toBe('page');
    // Refused by the diagnosis (fallback or downgrade), or for an action that stood, by policy.
    const refusal = result.diagnosis.fallbackReason ?? `policy: ${result.decision.reason ?? ''}`;
    expect(refusal).toMatch(c.refused);
    expect(server.requests).toHaveLength(1); // refused answers are not retried
  });
});

describe('once-known gaps, now closed in lib/', () => {
  it('row 9b: a saturation alert on a Ready pod pages (Ready only clears readiness and crash symptoms)', () => {
    const result = runbookPath(scenario('9b'));
    expect(result.outcome).toBe('page');
  });
});

describe('row 18: secrets in logs, events and alert labels', () => {
  it('never reach any request the Messages-API server recorded', async () => {
    // Prepare
    const s = scenario('18');
    const planted = JSON.stringify({ incident: s.incident, evidence: s.evidence });
    for (const [name, secret] of Object.entries(SECRET_CORPUS)) expect(planted.includes(secret), `${name} is planted`).toBe(true);
    const logs = s.evidence.containers.map((c) => c.previousLogTail ?? '').join('\n');
    const events = s.evidence.events.map((e) => e.message).join('\n');
    const labels = Object.values(s.incident.labels).join('\n');
    for (const [where, text] of Object.entries({ logs, events, labels })) {
      for (const [name, secret] of Object.entries(SECRET_CORPUS)) expect(text.includes(secret), `${name} in ${where}`).toBe(true);
    }

    // Act
    const result = await modelPath(s, goodStep(s));

    // Assess
    expect(result.diagnosis.diagnoser).toBe('claude');
    expect(server.requests).toHaveLength(1);
    const sent = server.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n');
    for (const [name, secret] of Object.entries(SECRET_CORPUS)) expect(sent.includes(secret), `${name} leaked`).toBe(false);
    expect(sent).toContain('password authentication failed'); // the diagnosis still sees the failure
  });
});

describe('npm run eval', () => {
  it('replays every row against a local server it starts itself, with no failure, within seconds', async () => {
    // Act
    const report = await evaluate();
    const table = formatReport(report);

    // Assess
    expect(report.mode).toBe('replay');
    expect(report.rows.filter((r) => r.status === 'FAIL').map((r) => `${r.key}: ${r.problems.join('; ')}`)).toEqual([]);
    expect(report.rows.filter((r) => r.status === 'gap').map((r) => r.key)).toEqual([]);
    expect(report.rows.filter((r) => r.status === 'ref').map((r) => r.key)).toEqual(['14', '20']);
    expect(report.ms).toBeLessThan(30_000);
    expect(table).toMatch(/^1 {4}transient crash loop/m);
    expect(table).toMatch(/Page until the action exists/);
    expect(table).toMatch(/\$\d+\.\d{5}/);
  });
});
