import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { costOf } from '../../lib/diagnose/cost.js';
import { buildPrompt } from '../../lib/diagnose/prompt.js';
import { evaluateLive } from '../../eval/live.js';
import { formatLiveReport, formatMs, formatPerDiagnosis, formatUsd, type LiveReport } from '../../eval/live-report.js';
import { main } from '../../eval/run.js';
import { goodStep, goodVerdict, INVESTIGATIONS } from '../../eval/scripts.js';
import { percentile } from '../../eval/stats.js';
import { scenario, SCENARIOS, type Scenario } from '../fixtures/scenarios.js';
import { startMessagesApiServer, steps, type MessagesApiServer, type RecordedRequest, type ScriptedStep } from '../support/messages-api-server.js';

/**
 * `npm run eval -- --live` with the real SDK pointed (ANTHROPIC_BASE_URL, a fake key) at the local
 * Messages-API server, whose stand-in model answers each request from what it asks: the scenario
 * is recognised by its prompt, and a plan says which runs answer wrong, fail or are slow. Every
 * figure the eval prints is checked against what the server served and recorded (tokens, look-ups
 * answered), the plan (passes), or the eval's own measured latencies (percentiles, bounded below
 * by the server's delays); none is written down here.
 */

const KEY = 'sk-ant-eval-live-test-000000000000000000000';
const MAX_STEPS = 4;
const MODELS = ['claude-sonnet-5-5', 'claude-haiku-4-5'] as const;
const RUNS = 2;
const SLOW_MS = 700;

type Plan = {
  /** `${model} ${key} ${run}` → a wrong first answer. */
  readonly wrong: Readonly<Record<string, (s: Scenario) => ScriptedStep>>;
  /** Runs whose first request is answered 529 (retries are off: the runbook answers). */
  readonly unavailable: ReadonlySet<string>;
  /** Runs whose first answer is held this long. */
  readonly slow: ReadonlySet<string>;
};

const verdictWith = (s: Scenario, overrides: Record<string, unknown>): ScriptedStep => steps.verdict({ ...goodVerdict(s), ...overrides });
const podOf = (s: Scenario) => ({ kind: 'Pod', name: s.incident.subject.name, namespace: s.incident.subject.namespace });

/** The plan of the main test: a few misses of each kind the judge knows, one failure, six slow answers. */
const PLAN: Plan = {
  wrong: {
    // A missed fix: pages where the row evicts.
    'claude-haiku-4-5 1 2': (s) => verdictWith(s, { recommendation: 'page', target: null, restartCanHelp: false }),
    // Takes the red herring: the cross-check downgrades the eviction (the runbook finds OOMKilled).
    'claude-haiku-4-5 22a 1': (s) => verdictWith(s, { recommendation: 'evict-pod', category: 'transient-crash', restartCanHelp: true, target: podOf(s) }),
    // Does not abstain: policy's still-unhealthy stops the restart of a healthy Deployment.
    'claude-sonnet-5-5 21a 2': (s) => verdictWith(s, { recommendation: 'rollout-restart', category: 'transient-crash', restartCanHelp: true, target: { kind: 'Deployment', name: 'inventory', namespace: 'shop' } }),
    // The right page, without naming the dependency two hops away.
    'claude-sonnet-5-5 23 1': (s) => verdictWith(s, { summary: 'orders-api crash loops', rootCause: 'A required component is down; a human should look.' }),
  },
  unavailable: new Set(['claude-haiku-4-5 9 1']),
  slow: new Set(['3 1', '6 2', '7 1', '13 2', '18 1', '22b 2'].map((k) => `claude-sonnet-5-5 ${k}`)),
};

const GOOD_ONLY: Plan = { wrong: {}, unavailable: new Set(), slow: new Set() };

let server: MessagesApiServer;
let plan: Plan = PLAN;
const runsSeen = new Map<string, number>();

/** The scenario a request is about, recognised by its prompt (the first user block). */
const byPrompt = new Map(SCENARIOS.map((s) => [buildPrompt(s.incident, s.evidence, { investigation: { maxSteps: MAX_STEPS } }).user, s.key]));

function about(body: unknown): { model: string; key: string; turn: number } {
  const b = body as { model: string; messages: { role: string; content: string | { type: string; text?: string }[] }[] };
  const first = b.messages[0]?.content;
  const text = typeof first === 'string' ? first : first?.[0]?.text ?? '';
  return { model: b.model, key: byPrompt.get(text) ?? '?', turn: b.messages.filter((m) => m.role === 'assistant').length };
}

function respond(body: Readonly<Record<string, unknown>>): ScriptedStep {
  const { model, key, turn } = about(body);
  if (key === '?') return steps.serverError();
  const s = scenario(key);
  const conversation = `${model} ${key}`;
  if (turn === 0) runsSeen.set(conversation, (runsSeen.get(conversation) ?? 0) + 1);
  const id = `${conversation} ${runsSeen.get(conversation) ?? 0}`;
  const slow = (step: ScriptedStep): ScriptedStep => (turn === 0 && plan.slow.has(id) ? { ...step, delayMs: SLOW_MS } : step);
  if (turn === 0 && plan.unavailable.has(id)) return steps.overloaded();
  const wrong = plan.wrong[id];
  if (turn === 0 && wrong) return slow(wrong(s));
  // Scenarios with a scripted investigation look things up first, as a model would.
  const script = INVESTIGATIONS.find((c) => c.scenario.key === key)?.script ?? [goodStep(s)];
  return slow(script[turn] ?? goodStep(s));
}

const ENV = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.baseURL, HEALER_MODEL_MAX_RETRIES: '0', HEALER_MODEL_MAX_STEPS: String(MAX_STEPS) });

beforeAll(async () => {
  server = await startMessagesApiServer({ apiKey: KEY, respond });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  runsSeen.clear();
  plan = PLAN;
});

/** What the server served for one model and scenario: token sums and look-ups answered. */
function served(model: string, key?: string, recorded: readonly RecordedRequest[] = server.requests) {
  const mine = recorded.filter((r: RecordedRequest) => {
    const a = about(r.body);
    return a.model === model && (key === undefined || a.key === key);
  });
  const sum = (f: (u: NonNullable<RecordedRequest['usage']>) => number) => mine.reduce((n, r) => n + (r.usage ? f(r.usage) : 0), 0);
  const tokens = {
    inputTokens: sum((u) => u.input_tokens),
    cacheWriteTokens: sum((u) => u.cache_creation_input_tokens),
    cacheReadTokens: sum((u) => u.cache_read_input_tokens),
    outputTokens: sum((u) => u.output_tokens),
  };
  return { requests: mine, tokens, lookups: mine.reduce((n, r) => n + (r.toolResultsFor?.length ?? 0), 0) };
}

/** The last nine cells of a printed row: pass, p50, p95, look-ups, four token counts, cost. */
const figures = (line: string | undefined): string[] => (line ?? '').trim().split(/\s+/).slice(-9);

function table(text: string, model: string): string[] {
  const start = text.indexOf(`\nmodel ${model}\n`);
  const end = text.indexOf('\nmodel ', start + 1);
  return text.slice(start, end < 0 ? undefined : end).split('\n');
}

function misses(p: Plan, model: string, key: string): number {
  return Array.from({ length: RUNS }, (_, i) => `${model} ${key} ${i + 1}`).filter((id) => p.wrong[id] !== undefined || p.unavailable.has(id)).length;
}

describe('npm run eval -- --live, against the local Messages-API server', () => {
  let report: LiveReport;
  let text: string;
  // Kept: the server forgets its requests before each test.
  let recorded: readonly RecordedRequest[];

  beforeAll(async () => {
    // Prepare: every scenario's prompt is told apart by the stand-in model
    expect(byPrompt.size).toBe(SCENARIOS.length);
    server.reset();
    runsSeen.clear();
    plan = PLAN;

    // Act
    report = await evaluateLive({ env: ENV(), models: MODELS, runs: RUNS, scenarios: SCENARIOS });
    text = formatLiveReport(report);
    recorded = [...server.requests];
  }, 240_000);

  it('asked once per scenario, run and model, every request valid, through the real SDK', () => {
    // Assess
    expect(recorded.filter((r) => r.problems.length > 0).map((r) => r.problems)).toEqual([]);
    for (const model of MODELS) {
      for (const s of SCENARIOS) {
        const first = served(model, s.key, recorded).requests.filter((r) => about(r.body).turn === 0);
        expect(first, `${model} ${s.key}`).toHaveLength(RUNS);
      }
      expect(report.models.find((m) => m.model === model)?.runs).toHaveLength(RUNS * SCENARIOS.length);
    }
    expect(new Set(recorded.map((r) => r.headers['user-agent']?.split('/')[0]))).toEqual(new Set(['Anthropic']));
    expect(text).toContain(`ANTHROPIC_BASE_URL=${server.baseURL}`);
  });

  it.each(MODELS)('%s: each scenario row prints the passes the plan allows, and the tokens, cost and look-ups the server served', (model) => {
    // Prepare
    const rows = table(text, model);
    const runs = report.models.find((m) => m.model === model)?.runs ?? [];

    for (const s of SCENARIOS) {
      // Act
      const line = rows.find((l) => l.startsWith(`${s.key.padEnd(4)} `));
      const got = figures(line);
      const fromServer = served(model, s.key, recorded);
      const ms = runs.filter((r) => r.key === s.key).map((r) => r.ms);

      // Assess
      expect(got, `${model} ${s.key}: ${line ?? 'no row'}`).toEqual([
        `${RUNS - misses(PLAN, model, s.key)}/${RUNS}`,
        formatMs(percentile(ms, 50)),
        formatMs(percentile(ms, 95)),
        formatPerDiagnosis(fromServer.lookups / RUNS),
        String(fromServer.tokens.inputTokens),
        String(fromServer.tokens.cacheWriteTokens),
        String(fromServer.tokens.cacheReadTokens),
        String(fromServer.tokens.outputTokens),
        formatUsd(costOf(fromServer.tokens, model)),
      ]);
    }
  });

  it.each(MODELS)('%s: the total row and pass rate add up over every diagnosis; look-ups were made', (model) => {
    // Prepare
    const rows = table(text, model);
    const runs = report.models.find((m) => m.model === model)?.runs ?? [];
    const fromServer = served(model, undefined, recorded);
    const n = RUNS * SCENARIOS.length;
    const failed = SCENARIOS.reduce((k, s) => k + misses(PLAN, model, s.key), 0);

    // Act
    const total = figures(rows.find((l) => l.includes(`all: ${SCENARIOS.length} scenarios, ${n} diagnoses`)));

    // Assess
    expect(fromServer.lookups).toBeGreaterThan(0);
    expect(total).toEqual([
      `${n - failed}/${n}`,
      formatMs(percentile(runs.map((r) => r.ms), 50)),
      formatMs(percentile(runs.map((r) => r.ms), 95)),
      formatPerDiagnosis(fromServer.lookups / n),
      String(fromServer.tokens.inputTokens),
      String(fromServer.tokens.cacheWriteTokens),
      String(fromServer.tokens.cacheReadTokens),
      String(fromServer.tokens.outputTokens),
      formatUsd(costOf(fromServer.tokens, model)),
    ]);
    expect(rows.join('\n')).toContain(`Pass rate ${n - failed}/${n} (${((100 * (n - failed)) / n).toFixed(1)}%)`);
    const cost = costOf(fromServer.tokens, model);
    expect(rows.join('\n')).toContain(`Mean cost per diagnosis: ${formatUsd(cost === undefined ? undefined : cost / n)}`);
  });

  it('lists exactly the planned misses, each for its own reason', () => {
    // Act
    const listed = text.split('\n').filter((l) => /^ {2}\S+ run \d+: /.test(l)).map((l) => l.trim());

    // Assess
    expect(listed).toHaveLength(Object.keys(PLAN.wrong).length + PLAN.unavailable.size);
    expect(listed).toEqual(expect.arrayContaining([
      expect.stringMatching(/^1 run 2: page, expected evict-pod$/),
      expect.stringMatching(/^22a run 1: evict-pod downgraded to page by the cross-check$/),
      expect.stringMatching(/^21a run 2: rollout-restart stopped by policy \(still-unhealthy\)$/),
      expect.stringMatching(/^23 run 1: right outcome, cause not named/),
      expect.stringMatching(/^9 run 1: no model verdict: model diagnosis unavailable, runbook used: overloaded/),
    ]));
  });

  it('measures latency: every diagnosis at least as long as the server held it, slow ones land in p95 and not in p50', () => {
    // Prepare
    const sonnet = report.models.find((m) => m.model === 'claude-sonnet-5-5')?.runs ?? [];
    const slow = sonnet.filter((r) => PLAN.slow.has(`claude-sonnet-5-5 ${r.key} ${r.run}`));
    const ms = sonnet.map((r) => r.ms);

    // Assess: six slow of 94 is more than the 5% above the p95 rank
    expect(slow).toHaveLength(PLAN.slow.size);
    for (const r of slow) expect(r.ms, `${r.key} run ${r.run}`).toBeGreaterThanOrEqual(SLOW_MS);
    expect(PLAN.slow.size).toBeGreaterThan(ms.length - Math.ceil(0.95 * ms.length));
    expect(percentile(ms, 95)).toBeGreaterThanOrEqual(SLOW_MS);
    expect(percentile(ms, 50)).toBeLessThan(SLOW_MS);
  });

  it('prints the models side by side with their totals', () => {
    // Assess
    const side = text.slice(text.indexOf('models side by side'));
    for (const model of MODELS) {
      const n = RUNS * SCENARIOS.length;
      const passed = n - SCENARIOS.reduce((k, s) => k + misses(PLAN, model, s.key), 0);
      expect(side).toMatch(new RegExp(`^${model} +${passed}/${n} `, 'm'));
    }
  });
});

describe('the eval command (main)', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
  };

  it('exits 0 after a live run whose misses are only misses', async () => {
    // Prepare
    plan = GOOD_ONLY;
    const { io, out } = capture();

    // Act
    const code = await main(['--live', '--model', 'claude-haiku-4-5', '--only', '1,21a,23', '--runs', '2'], ENV(), io);

    // Assess
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('Pass rate 6/6 (100.0%)');
    expect(served('claude-haiku-4-5').requests.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(6);
  });

  it('exits 1 when a run acted where the row says page or none (an eviction on row 23 passes policy)', async () => {
    // Prepare
    plan = { ...GOOD_ONLY, wrong: { 'claude-haiku-4-5 23 1': (s) => verdictWith(s, { recommendation: 'evict-pod', category: 'transient-crash', restartCanHelp: true, target: podOf(s) }) } };
    const { io, out } = capture();

    // Act
    const code = await main(['--live', '--model', 'claude-haiku-4-5', '--only', '23'], ENV(), io);

    // Assess
    expect(code).toBe(1);
    expect(out.join('\n')).toContain('acted where the row says page or none: 1.');
  });

  it('exits 1 when a model answered none of its diagnoses (a wrong key or model id measures nothing)', async () => {
    // Prepare
    plan = { ...GOOD_ONLY, unavailable: new Set(['claude-haiku-4-5 1 1', 'claude-haiku-4-5 21a 1']) };
    const { io, out } = capture();

    // Act
    const code = await main(['--live', '--model', 'claude-haiku-4-5', '--only', '1,21a'], ENV(), io);

    // Assess
    expect(code).toBe(1);
    expect(out.join('\n')).toContain('Pass rate 0/2 (0.0%); model unavailable 2;');
  });

  it('refuses bad flags with exit 2 and the usage, before any request', async () => {
    // Prepare
    const { io, out, err } = capture();

    // Act
    const code = await main(['--live', '--runs', 'many'], ENV(), io);

    // Assess
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--runs: expected a whole number from 1 to 50, got "many"[\s\S]*usage: npm run eval/);
    expect(out).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('npm run eval as a process', () => {
  const run = (args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      // Not spawnSync: the Messages-API server answers from this process's event loop.
      const child = spawn(process.execPath, ['--import', 'tsx', 'eval/run.ts', ...args], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('without a key: --live replays, says how to run live, and exits 0', async () => {
    // Act
    const result = await run(['--live', '--runs', '3'], {});

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(result.stdout).toContain('--live needs ANTHROPIC_API_KEY: none is set, so the scripted replay ran instead.');
    expect(result.stdout).toContain('ANTHROPIC_API_KEY=... npm run eval -- --live --model claude-sonnet-5-5,claude-haiku-4-5 --runs 3');
  }, 120_000);

  it('with a key and a base URL: asks that server and prints what it served', async () => {
    // Prepare
    plan = GOOD_ONLY;

    // Act
    const result = await run(['--live', '--model=claude-haiku-4-5', '--only=21b,22b'], ENV());

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = table(result.stdout, 'claude-haiku-4-5');
    for (const key of ['21b', '22b']) {
      const fromServer = served('claude-haiku-4-5', key);
      const got = figures(rows.find((l) => l.startsWith(`${key.padEnd(4)} `)));
      expect(got[0]).toBe('1/1');
      expect(got.slice(3)).toEqual([
        formatPerDiagnosis(fromServer.lookups),
        String(fromServer.tokens.inputTokens),
        String(fromServer.tokens.cacheWriteTokens),
        String(fromServer.tokens.cacheReadTokens),
        String(fromServer.tokens.outputTokens),
        formatUsd(costOf(fromServer.tokens, 'claude-haiku-4-5')),
      ]);
    }
  }, 120_000);

  it('a bad flag: exit 2 with the error on stderr', async () => {
    // Act
    const result = await run(['--model', 'claude-haiku-4-5'], {});

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('npm run eval: --model applies to --live only');
    expect(result.stdout).toBe('');
  }, 60_000);
});
