import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { anthropicDiagnoserFromConfig } from '../../lib/adapters/anthropic-diagnoser.js';
import { loadConfig } from '../../lib/config/config.js';
import { withRunbookFallback } from '../../lib/diagnose/fallback.js';
import { diagnoseByRunbook, runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { planAction, type ActionPlan } from '../../lib/actions/plan.js';
import { IncidentSchema } from '../../lib/domain/incident-schema.js';
import type { Diagnosis, ObjectRef } from '../../lib/domain/types.js';
import { alertRules, alertToIncident } from '../../lib/intake/incidents.js';
import type { Diagnoser } from '../../lib/ports/index.js';
import { evaluate, formatReport } from '../../eval/run.js';
import { ADVERSARIAL, goodStep, goodVerdict, missingScripts } from '../../eval/scripts.js';
import { startMessagesApiServer, steps, type MessagesApiServer, type ScriptedStep } from '../support/messages-api-server.js';
import {
  actionDeniedBy,
  ALERT_MAPPINGS,
  CLUSTER,
  decideFor,
  finalOutcome,
  isAllowedOutcome,
  JOB_LIMITS,
  meetsExpected,
  namesCause,
  NOW_ISO,
  REFERENCED_ROWS,
  SCALE_BOUNDS,
  scenario,
  SCENARIOS,
  SECRET_CORPUS,
  type FinalOutcome,
  type Scenario,
} from '../fixtures/scenarios.js';

/**
 * The docs/scenarios.md matrix for diagnosis and policy: each row through the runbook path and through
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
  it('cover every row of docs/scenarios.md, here or by reference, as intake and the evidence step shape them', () => {
    // Prepare: the rows of the table in docs/scenarios.md
    const design = new URL('../../docs/scenarios.md', import.meta.url);
    const rows = readFileSync(design, 'utf8').split('\n').map((l) => /^\|\s*(\d+)\s*\|/.exec(l)?.[1]).filter((n): n is string => n !== undefined).map(Number);

    // Act
    const covered = new Set([...SCENARIOS.map((s) => s.row), ...REFERENCED_ROWS.map((r) => r.row)]);

    // Assess
    expect(rows).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect([...covered].sort((a, b) => a - b)).toEqual(rows);
    expect(missingScripts()).toEqual([]);
    expect(new Set(SCENARIOS.map((s) => s.key)).size).toBe(SCENARIOS.length);
    for (const s of SCENARIOS) {
      expect(IncidentSchema.safeParse(s.incident).success, `${s.key} incident is a valid queue message`).toBe(true);
      expect(s.evidence.subject, `${s.key} evidence is about the incident's subject`).toEqual(s.incident.subject);
      if (s.evidence.exists) expect(s.evidence.ownerChain[0]?.name, `${s.key} chain starts at the subject`).toBe(s.incident.subject.name);
      // An alternative outcome is only ever an abstention: the table never accepts a second action.
      for (const alt of s.expected.also ?? []) expect(['page', 'none'], `${s.key} also ${alt}`).toContain(alt);
      if (s.expected.also) expect(['page', 'none'], `${s.key} outcome`).toContain(s.expected.outcome);
    }
  });

  it('shape the saturation rows as intake maps the site alert under HEALER_ALERT_MAPPINGS', () => {
    for (const s of SCENARIOS.filter((x) => x.incident.symptom === 'WorkloadSaturated')) {
      // Act
      const mapped = alertToIncident({ status: 'firing', labels: { ...s.incident.labels }, annotations: { ...s.incident.annotations }, startsAt: NOW_ISO }, CLUSTER, NOW_ISO, alertRules(ALERT_MAPPINGS));
      const unmapped = alertToIncident({ status: 'firing', labels: { ...s.incident.labels }, annotations: {}, startsAt: NOW_ISO }, CLUSTER, NOW_ISO);

      // Assess
      expect(mapped, s.key).toEqual({ incident: s.incident });
      expect('incident' in unmapped && unmapped.incident.symptom, `${s.key} without the mapping`).toBe('Unknown');
    }
  });
});

describe('runbook path: diagnoseByRunbook, then policy', () => {
  it.each(matrix.map((s) => [label(s), s] as const))('%s', (_name, s) => {
    // Act
    const result = runbookPath(s);

    // Assess
    expect(meetsExpected(s.expected, result.outcome, result.deniedBy), `got ${result.outcome} [${result.deniedBy ?? ''}]`).toBe(true);
    expect(result.decision.allowed).toBe(isAllowedOutcome(s.expected.outcome));
  });
});

describe('model path: the real SDK with a scripted good verdict, fallback and cross-check, then policy', () => {
  it.each(SCENARIOS.map((s) => [label(s), s] as const))('%s', async (_name, s) => {
    // Act
    const result = await modelPath(s, goodStep(s));

    // Assess: the scripted verdict stood, and ends where docs/scenarios.md says
    expect(result.diagnosis).toMatchObject({ diagnoser: 'claude', model: 'claude-sonnet-5-5' });
    expect(result.diagnosis.fallbackReason).toBeUndefined();
    expect(meetsExpected(s.expected, result.outcome, result.deniedBy), `got ${result.outcome} [${result.deniedBy ?? ''}]`).toBe(true);
    expect(result.decision.allowed).toBe(isAllowedOutcome(s.expected.outcome));
    expect(namesCause(s.expected, result.diagnosis), `names ${String(s.expected.cause)}`).toBe(true);
    expect(server.requests.map((r) => r.status)).toEqual([200]);
  });
});

/** The rows whose safe response is one of the actions beyond evict-pod, and the exact change each plans. */
const NEW_ACTION_ROWS: readonly { readonly key: string; readonly outcome: FinalOutcome; readonly plan: Partial<ActionPlan> }[] = [
  {
    key: '6',
    outcome: 'delete-job',
    plan: { action: 'delete-job', target: { kind: 'Job', name: 'invoice-export-29150400', namespace: 'billing', uid: 'uid-invoice-export-29150400' }, resourceVersion: '48199342', parameters: {} },
  },
  {
    key: '8b',
    outcome: 'rollout-restart',
    plan: { action: 'rollout-restart', target: { kind: 'Deployment', name: 'cart', namespace: 'shop', uid: 'uid-cart' }, resourceVersion: '48207716', parameters: {} },
  },
  {
    key: '9',
    outcome: 'scale-deployment',
    plan: { action: 'scale-deployment', target: { kind: 'Deployment', name: 'checkout', namespace: 'shop', uid: 'uid-checkout' }, resourceVersion: '48207716', parameters: { replicas: 4 }, fromReplicas: 3 },
  },
  {
    // cordon-node needs a human's approval: policy allows it, and this plan is what the approval is bound to.
    key: '12a',
    outcome: 'approval',
    plan: { action: 'cordon-node', target: { kind: 'Node', name: 'ip-10-0-3-17.eu-west-1.compute.internal', uid: 'uid-ip-10-0-3-17.eu-west-1.compute.internal' }, resourceVersion: '48209551', parameters: {} },
  },
];

describe('rows whose safe response is rollout-restart, scale-deployment, delete-job or cordon-node', () => {
  const rows = NEW_ACTION_ROWS.map((want) => [`row ${want.key} → ${want.outcome}`, scenario(want.key), want] as const);

  it('are every row that expects one of those actions', () => {
    // Assess
    const expecting = SCENARIOS.filter((s) => isAllowedOutcome(s.expected.outcome) && s.expected.outcome !== 'evict-pod').map((s) => s.key);
    expect(expecting).toEqual(NEW_ACTION_ROWS.map((r) => r.key));
  });

  it.each(rows)('%s on both paths, with the expected plan', async (_name, s, want) => {
    // Act
    const runbook = runbookPath(s);
    const model = await modelPath(s, goodStep(s));

    // Assess: both paths reach the action, and plan the same exact change on the live object
    for (const [path, result] of [['runbook', runbook], ['model', model]] as const) {
      expect(result.outcome, path).toBe(want.outcome);
      expect(result.decision.allowed, path).toBe(true);
      expect(result.decision.approvalRequired === true, path).toBe(want.outcome === 'approval');
      expect(result.diagnosis.recommendation, path).toBe(want.plan.action);
      const planned = planAction(result.diagnosis, s.evidence, SCALE_BOUNDS, JOB_LIMITS);
      expect(planned, path).toMatchObject({ ok: true, plan: want.plan });
      if (planned.ok) expect(planned.plan.target, path).toEqual(want.plan.target as ObjectRef);
    }
    expect(model.diagnosis.fallbackReason).toBeUndefined();
  });

  it('row 12c: the same cordon is refused when it would pass the node budget', () => {
    // Act
    const result = runbookPath(scenario('12c'));

    // Assess
    expect(result.diagnosis.recommendation).toBe('cordon-node');
    expect(result.outcome).toBe('page');
    expect(result.decision.reason).toBe('cordoning would make 2 of 6 nodes unschedulable; the budget is 20%');
  });
});

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

describe('rows 21-23: abstention, red herrings, a cause two hops away', () => {
  it('row 21: an abstention row accepts none or page, never an action', () => {
    // Prepare
    const s = scenario('21a');

    // Act
    const accepted = (['none', 'page', 'evict-pod', 'rollout-restart', 'approval'] as const).filter((o) => meetsExpected(s.expected, o, undefined));

    // Assess
    expect(accepted).toEqual(['none', 'page']);
  });

  it('row 21b: a model that sees nothing to do is turned into a page by the cross-check (the runbook pages an unknown alert)', async () => {
    // Act
    const result = await modelPath(scenario('21b'), goodStep(scenario('21b')));
    const none = await modelPath(scenario('21b'), steps.verdict({ ...goodVerdict(scenario('21b')), recommendation: 'none', category: 'already-healthy' }));

    // Assess
    expect(result.outcome).toBe('page');
    expect(none.outcome).toBe('page');
    expect(none.diagnosis.fallbackReason).toMatch(/the model sees nothing to do, but the runbook finds/);
    expect(meetsExpected(scenario('21b').expected, none.outcome, none.deniedBy)).toBe(true);
  });

  it.each([['22a', /OOM|memory/i], ['22b', /postgres/], ['23', /orders-db/]] as const)(
    'row %s: a verdict with the right outcome but not naming the real cause does not count as right',
    async (key, named) => {
      // Prepare: the good verdict with the cause taken out of its words
      const s = scenario(key);
      const good = goodVerdict(s);
      const blind = { ...good, summary: 'pod is crash looping', rootCause: 'A component is failing; a human should look.' };

      // Act
      const result = await modelPath(s, steps.verdict(blind));

      // Assess
      expect(String(good['summary']) + String(good['rootCause'])).toMatch(named);
      expect(namesCause(s.expected, result.diagnosis)).toBe(false);
    },
  );

  it('row 23: the runbook sees no known pattern (the log never names the dependency) and pages', () => {
    // Act
    const result = runbookPath(scenario('23'));

    // Assess
    expect(result.outcome).toBe('page');
    expect(result.diagnosis.category).toBe('unknown');
    const logs = scenario('23').evidence.containers.map((c) => c.previousLogTail ?? '').join('\n');
    expect(logs).not.toMatch(/orders-db/);
    expect(scenario('23').evidence.events.map((e) => e.message).join('\n')).toMatch(/orders-db/);
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
    expect(table).toMatch(/^9 {4}under-provisioned deployment \(saturation\) +scale-deployment +scale-deployment +scale-deployment +ok/m);
    expect(table).toMatch(/^12a {2}node NotReady +approval +approval +approval +ok/m);
    expect(table).not.toMatch(/Page until the action exists/);
    expect(table).toMatch(/\$\d+\.\d{5}/);
  });
});
