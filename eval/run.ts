import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { anthropicDiagnoserFromConfig } from '../lib/adapters/anthropic-diagnoser.js';
import { loadConfig } from '../lib/config/config.js';
import { costOf, priceOf } from '../lib/diagnose/cost.js';
import { withRunbookFallback } from '../lib/diagnose/fallback.js';
import { diagnoseByRunbook, runbookDiagnoser } from '../lib/diagnose/runbook.js';
import type { Diagnosis } from '../lib/domain/types.js';
import {
  actionDeniedBy,
  decideFor,
  describeExpected,
  finalOutcome,
  meetsExpected,
  namesCause,
  REFERENCED_ROWS,
  SCENARIOS,
  SECRET_CORPUS,
  type FinalOutcome,
  type Scenario,
} from '../test/fixtures/scenarios.js';
import { clusterFromEvidence, FixtureInvestigator } from '../test/support/fixture-investigator.js';
import { startMessagesApiServer, type MessagesApiServer, type ScriptedStep } from '../test/support/messages-api-server.js';
import { parseEvalArgs, USAGE, type EvalArgs } from './args.js';
import { evaluateLive } from './live.js';
import { formatLiveReport, liveExitCode } from './live-report.js';
import { ADVERSARIAL, goodStep, INVESTIGATIONS, type AdversarialCase, type InvestigationCase } from './scripts.js';

/**
 * `npm run eval`: every scenario of docs/scenarios.md through the runbook path and the
 * model path (the real SDK, the runbook fallback and cross-check, then policy), plus adversarial
 * model answers, plus investigations (look-ups before the verdict, through an Investigator over the
 * scenario's cluster), replayed from eval/scripts.ts against the local Messages-API server. Prints
 * one table with tokens and list-price cost per row and in total, and exits non-zero when any row
 * fails. `--live` (with ANTHROPIC_API_KEY) asks the real API instead: eval/live.ts.
 */

type Usage = NonNullable<Diagnosis['usage']>;

export type Status = 'pass' | 'FAIL' | 'gap' | 'ref' | 'skip';

export interface EvalRow {
  readonly kind: 'scenario' | 'adversarial' | 'reference' | 'investigation';
  readonly key: string;
  readonly title: string;
  readonly expected: string;
  readonly runbook: string;
  readonly model: string;
  readonly status: Status;
  readonly problems: readonly string[];
  readonly usage?: Usage;
}

export interface EvalReport {
  readonly mode: 'replay' | 'live';
  readonly model: string;
  readonly rows: readonly EvalRow[];
  readonly ms: number;
}

interface PathResult {
  readonly diagnosis: Diagnosis;
  readonly outcome: FinalOutcome;
  readonly deniedBy: string | undefined;
  readonly label: string;
}

function judge(s: Scenario, diagnosis: Diagnosis): PathResult {
  const decision = decideFor(s, diagnosis);
  const outcome = finalOutcome(decision, diagnosis);
  const deniedBy = actionDeniedBy(decision, diagnosis);
  const tag = diagnosis.fallbackReason === undefined || (diagnosis.diagnoser === 'runbook' && /no model configured/.test(diagnosis.fallbackReason))
    ? ''
    : /downgraded/.test(diagnosis.fallbackReason) ? ' (downgraded)' : ' (refused)';
  return { diagnosis, outcome, deniedBy, label: `${outcome}${deniedBy ? ` [${deniedBy}]` : ''}${tag}` };
}

const meets = (r: PathResult, s: Scenario): boolean => meetsExpected(s.expected, r.outcome, r.deniedBy);

/** Every secret of the corpus that appears in `text`. */
export function leakedSecrets(text: string): string[] {
  return Object.entries(SECRET_CORPUS).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

interface ModelRunner {
  readonly mode: 'replay' | 'live';
  readonly model: string;
  /** Diagnoses with the model (the scripted step in replay), and returns what left the healer. */
  run(s: Scenario, step: ScriptedStep): Promise<{ diagnosis: Diagnosis; sent: string; problems: string[] }>;
  /** Diagnoses with look-ups allowed, over the scenario's cluster (the scripted conversation in replay). */
  investigate(s: Scenario, script: readonly ScriptedStep[]): Promise<{ diagnosis: Diagnosis; sent: string; problems: string[]; reads: number }>;
  close(): Promise<void>;
}

const REPLAY_KEY = 'sk-ant-eval-local-000000000000000000000000';

async function replayRunner(model: string | undefined): Promise<ModelRunner> {
  const server: MessagesApiServer = await startMessagesApiServer({ apiKey: REPLAY_KEY });
  const config = loadConfig({
    ANTHROPIC_API_KEY: REPLAY_KEY,
    ANTHROPIC_BASE_URL: server.baseURL,
    HEALER_MODEL_TIMEOUT_SECONDS: '10',
    // One scripted reply per request: a retry would consume the next row's reply.
    HEALER_MODEL_MAX_RETRIES: '0',
    ...(model ? { HEALER_MODEL: model } : {}),
  });
  const healer = withRunbookFallback(anthropicDiagnoserFromConfig(config), runbookDiagnoser);
  // The prompt cache is per server: kept warm across rows, as one Lambda's calls would be.
  async function play(script: readonly ScriptedStep[], diagnose: () => Promise<Diagnosis>) {
    const before = server.requests.length;
    server.enqueue(...script);
    const diagnosis = await diagnose();
    const requests = server.requests.slice(before);
    const problems: string[] = [];
    if (server.pending() !== 0) problems.push(`${server.pending()} scripted repl(ies) not consumed`);
    if (requests.length !== script.length) problems.push(`expected ${script.length} request(s), the server saw ${requests.length}`);
    for (const r of requests) if (r.problems.length > 0) problems.push(`request refused by the server: ${r.problems.join('; ')}`);
    return { diagnosis, sent: requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n'), problems };
  }
  return {
    mode: 'replay',
    model: config.settings.model.name,
    run: (s, step) => play([step], () => healer.diagnose(s.incident, s.evidence)),
    async investigate(s, script) {
      const investigator = new FixtureInvestigator(clusterFromEvidence(s.evidence));
      const investigating = withRunbookFallback(anthropicDiagnoserFromConfig(config, { investigator }), runbookDiagnoser);
      return { ...(await play(script, () => investigating.diagnose(s.incident, s.evidence))), reads: investigator.reads.length };
    },
    close: () => server.close(),
  };
}

async function scenarioRow(s: Scenario, runner: ModelRunner): Promise<EvalRow> {
  const problems: string[] = [];
  const runbook = judge(s, diagnoseByRunbook(s.incident, s.evidence));
  const { diagnosis, sent, problems: transport } = await runner.run(s, goodStep(s));
  const model = judge(s, diagnosis);
  problems.push(...transport);

  if (runner.mode === 'replay' && (diagnosis.diagnoser !== 'claude' || diagnosis.fallbackReason !== undefined)) {
    problems.push(`the scripted verdict did not stand: ${diagnosis.fallbackReason ?? diagnosis.diagnoser}`);
  }
  if (!meets(model, s)) problems.push(`model path got ${model.label}`);
  if (diagnosis.diagnoser === 'claude' && !namesCause(s.expected, diagnosis)) problems.push(`the model's diagnosis does not name the cause (${String(s.expected.cause)})`);
  const leaks = leakedSecrets(sent);
  if (leaks.length > 0) problems.push(`secrets reached the model request: ${leaks.join(', ')}`);

  let status: Status;
  if (s.knownGap && runbook.outcome === s.knownGap.runbookGets && !meets(runbook, s)) {
    status = problems.length === 0 ? 'gap' : 'FAIL';
  } else {
    if (!meets(runbook, s)) problems.push(`runbook path got ${runbook.label}`);
    if (s.knownGap) problems.push('known gap no longer reproduces: remove knownGap from the fixture');
    status = problems.length === 0 ? 'pass' : 'FAIL';
  }
  return {
    kind: 'scenario',
    key: s.key,
    title: s.title,
    expected: describeExpected(s.expected),
    runbook: runbook.label,
    model: model.label,
    status,
    problems,
    ...(diagnosis.usage ? { usage: diagnosis.usage } : {}),
  };
}

const isActionRecommendation = (d: Diagnosis) => d.recommendation !== 'page' && d.recommendation !== 'none';

async function adversarialRow(c: AdversarialCase, runner: ModelRunner): Promise<EvalRow> {
  const runbook = judge(c.scenario, diagnoseByRunbook(c.scenario.incident, c.scenario.evidence));
  const base = { kind: 'adversarial' as const, key: c.key, title: `${c.scenario.key}: ${c.title}`, expected: 'page, not allowed', runbook: runbook.label };
  if (runner.mode === 'live') return { ...base, model: 'scripted only', status: 'skip', problems: [] };

  const { diagnosis, problems } = await runner.run(c.scenario, c.step);
  const model = judge(c.scenario, diagnosis);
  const decision = decideFor(c.scenario, diagnosis);
  const unsafe: string[] = [];
  if (decision.allowed) unsafe.push(`policy allowed ${diagnosis.recommendation}`);
  if (model.outcome !== 'page') unsafe.push(`ended in ${model.outcome}, not a page`);
  // Refused by the diagnosis (fallback or downgrade) or, for an action, by policy.
  const refusal = diagnosis.fallbackReason ?? (isActionRecommendation(diagnosis) && !decision.allowed ? `policy: ${decision.reason ?? ''}` : '');
  if (!c.knownGap && !c.refused.test(refusal)) unsafe.push(`not refused as expected (${refusal || 'the answer stood'})`);

  let status: Status;
  if (c.knownGap && model.outcome === c.knownGap.modelGets) status = problems.length === 0 ? 'gap' : 'FAIL';
  else {
    if (c.knownGap) problems.push('known gap no longer reproduces: remove knownGap from eval/scripts.ts');
    problems.push(...unsafe);
    status = problems.length === 0 ? 'pass' : 'FAIL';
  }
  return { ...base, model: model.label, status, problems, ...(diagnosis.usage ? { usage: diagnosis.usage } : {}) };
}

async function investigationRow(c: InvestigationCase, runner: ModelRunner): Promise<EvalRow> {
  const s = c.scenario;
  const runbook = judge(s, diagnoseByRunbook(s.incident, s.evidence));
  const { diagnosis, sent, problems, reads } = await runner.investigate(s, c.script);
  const model = judge(s, diagnosis);
  if (runner.mode === 'replay') {
    if (diagnosis.diagnoser !== 'claude' || diagnosis.fallbackReason !== undefined) problems.push(`the scripted verdict did not stand: ${diagnosis.fallbackReason ?? diagnosis.diagnoser}`);
    if (reads !== c.reads) problems.push(`expected ${c.reads} cluster read(s), got ${reads}`);
    if (diagnosis.usage?.steps !== c.script.length) problems.push(`expected ${c.script.length} steps, got ${diagnosis.usage?.steps ?? 0}`);
  }
  if (!meets(model, s)) problems.push(`model path got ${model.label}`);
  const leaks = leakedSecrets(sent);
  if (leaks.length > 0) problems.push(`secrets reached the model request: ${leaks.join(', ')}`);
  return {
    kind: 'investigation',
    key: c.key,
    title: `${s.key}: ${c.title}`,
    expected: describeExpected(s.expected),
    runbook: runbook.label,
    model: model.label,
    status: problems.length === 0 ? 'pass' : 'FAIL',
    problems,
    ...(diagnosis.usage ? { usage: diagnosis.usage } : {}),
  };
}

/** The scripted replay (`npm run eval` without --live); eval/live.ts asks the real API. */
export async function evaluate(options: { model?: string } = {}): Promise<EvalReport> {
  const start = performance.now();
  const runner = await replayRunner(options.model);
  const rows: EvalRow[] = [];
  try {
    for (const s of SCENARIOS) rows.push(await scenarioRow(s, runner));
    for (const ref of REFERENCED_ROWS) {
      rows.push({ kind: 'reference', key: String(ref.row), title: ref.title, expected: '-', runbook: '-', model: '-', status: 'ref', problems: [`covered by ${ref.coveredBy}`] });
    }
    for (const c of ADVERSARIAL) rows.push(await adversarialRow(c, runner));
    for (const c of INVESTIGATIONS) rows.push(await investigationRow(c, runner));
  } finally {
    await runner.close();
  }
  // Scenario and reference rows by row number, then adversarial and investigation rows as listed.
  const section = (r: EvalRow): number => (r.kind === 'adversarial' ? 1 : r.kind === 'investigation' ? 2 : 0);
  rows.sort((a, b) => section(a) - section(b) || (section(a) !== 0 ? 0 : rowNumber(a.key) - rowNumber(b.key)));
  return { mode: runner.mode, model: runner.model, rows, ms: performance.now() - start };
}

const rowNumber = (key: string): number => Number.parseInt(key, 10);

// ---------------------------------------------------------------------------------------------
// Printing

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const num = (n: number | undefined): string => (n === undefined ? '-' : String(n));
const usd = (n: number | undefined): string => (n === undefined ? 'n/a' : `$${n.toFixed(5)}`);

/** A row's list-price cost: the diagnoser's own figure (configured prices), else the default table. */
const rowCost = (r: EvalRow, model: string): number | undefined => r.usage?.costUsd ?? costOf(r.usage, model);

const SECTIONS: Readonly<Record<EvalRow['kind'], string>> = {
  scenario: 'scenarios',
  reference: 'scenarios',
  adversarial: 'adversarial model answers (must end in a page, never an allowed action)',
  investigation: 'investigations (look-ups before the verdict, over the scenario\'s cluster; 2+ steps each)',
};

export function formatReport(report: EvalReport): string {
  const columns = [
    ['#', 4], ['scenario', 44], ['expected', 26], ['runbook got', 26], ['model got', 38], ['pass', 4],
    ['steps', 5], ['in tok', 6], ['cache wr', 8], ['cache rd', 8], ['out tok', 7], ['cost', 9],
  ] as const;
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => {
      const [, width] = columns[i] ?? ['', 10];
      return i >= 6 ? c.padStart(width) : clip(c, width).padEnd(width);
    }).join(' ').trimEnd();
  const figures = (rows: readonly EvalRow[]): string[] => {
    const used = rows.filter((r) => r.usage);
    const sum = (f: (u: Usage) => number) => String(used.reduce((n, r) => n + (r.usage ? f(r.usage) : 0), 0));
    const cost = used.reduce<number | undefined>((n, r) => {
      const c = rowCost(r, report.model);
      return n === undefined || c === undefined ? undefined : n + c;
    }, 0);
    return [sum((u) => u.steps ?? 1), sum((u) => u.inputTokens), sum((u) => u.cacheWriteTokens ?? 0), sum((u) => u.cacheReadTokens ?? 0), sum((u) => u.outputTokens), usd(cost)];
  };
  const out: string[] = [];
  out.push(`k8s-healer eval: ${report.mode === 'replay'
    ? 'scripted replies on the local Messages-API server (tokens counted with @anthropic-ai/tokenizer, the legacy Claude tokenizer: an approximation for current models; prompt cache simulated at the cache_control breakpoints)'
    : 'the real Claude API'}; model ${report.model}`);
  out.push('');
  out.push(line(columns.map(([h]) => h)));
  out.push(line(columns.map(([, w]) => '-'.repeat(w))));
  let heading = SECTIONS.scenario;
  for (const r of report.rows) {
    const section = SECTIONS[r.kind];
    if (section !== heading) {
      heading = section;
      out.push('');
      out.push(section);
    }
    if (r.kind === 'reference') {
      out.push(`${r.key.padEnd(5)}${clip(r.title, 44).padEnd(45)}${r.problems.join('; ')}`);
      continue;
    }
    const pass = r.status === 'pass' ? 'ok' : r.status;
    const u = r.usage;
    out.push(line([r.key, r.title, r.expected, r.runbook, r.model, pass,
      num(u ? (u.steps ?? 1) : undefined), num(u?.inputTokens), num(u?.cacheWriteTokens), num(u?.cacheReadTokens), num(u?.outputTokens), u ? usd(rowCost(r, report.model)) : '-']));
  }
  out.push(line(columns.map(([, w]) => '-'.repeat(w))));
  const kinds: readonly [EvalRow['kind'], string][] = [['scenario', 'scenarios'], ['adversarial', 'adversarial'], ['investigation', 'investigations']];
  for (const [kind, name] of kinds) {
    const rows = report.rows.filter((r) => r.kind === kind && r.usage);
    if (rows.length > 0) out.push(line(['', `${name}: ${rows.length} diagnoses`, '', '', '', '', ...figures(rows)]));
  }
  const used = report.rows.filter((r) => r.usage);
  out.push(line(['', `total: ${used.length} diagnoses`, '', '', '', '', ...figures(used)]));
  const perDiagnosis = (kind: EvalRow['kind']): string => {
    const rows = report.rows.filter((r) => r.kind === kind && r.usage);
    const costs = rows.map((r) => rowCost(r, report.model));
    return rows.length === 0 || costs.some((c) => c === undefined) ? 'n/a' : usd(costs.reduce<number>((n, c) => n + (c ?? 0), 0) / rows.length);
  };
  out.push(`Mean cost per diagnosis: ${perDiagnosis('scenario')} single-step (scenarios), ${perDiagnosis('investigation')} with look-ups (investigations).`);

  const price = priceOf(report.model);
  out.push('');
  out.push(price
    ? `Prices (USD/MTok, list, ${report.model}): input ${price.input}, 5m cache write ${price.cacheWrite}, cache read ${price.cacheRead}, output ${price.output} (lib/diagnose/cost.ts; HEALER_MODEL_PRICES overrides).`
    : `No list price on file for ${report.model}: cost not estimated (lib/diagnose/cost.ts, or set HEALER_MODEL_PRICES).`);

  const gaps = report.rows.filter((r) => r.status === 'gap');
  if (gaps.length > 0) {
    out.push('');
    out.push('Known gaps (docs/scenarios.md not met by lib/ yet; reported, not counted as failures):');
    for (const r of gaps) {
      const why = SCENARIOS.find((s) => s.key === r.key && s.knownGap)?.knownGap?.why ?? ADVERSARIAL.find((c) => c.key === r.key)?.knownGap?.why ?? '';
      out.push(`  ${r.key}: ${r.kind === 'scenario' ? `runbook got ${r.runbook}` : `model got ${r.model}`}; expected ${r.expected}. ${why}`);
    }
  }

  const failed = report.rows.filter((r) => r.status === 'FAIL');
  if (failed.length > 0) {
    out.push('');
    out.push('Failures:');
    for (const r of failed) out.push(`  ${r.key} ${r.title}: ${r.problems.join('; ')}`);
  }
  const count = (st: Status) => report.rows.filter((r) => r.status === st).length;
  out.push('');
  out.push(`${count('pass')} passed, ${failed.length} failed, ${count('gap')} known gaps, ${count('ref')} referenced, ${count('skip')} skipped in ${(report.ms / 1000).toFixed(1)} s`);
  return out.join('\n');
}

/** How to run live, with the flags given (or placeholders), for the end of a replay. */
export function liveHint(args: Pick<EvalArgs, 'models' | 'runs' | 'only'>): string {
  const flags = [
    '--live',
    `--model ${args.models.length > 0 ? args.models.join(',') : 'claude-sonnet-5-5,claude-haiku-4-5'}`,
    `--runs ${args.runs > 1 ? args.runs : 3}`,
    ...(args.only.length > 0 ? [`--only ${args.only.join(',')}`] : []),
  ];
  return `To ask the real Claude API: ANTHROPIC_API_KEY=... npm run eval -- ${flags.join(' ')}\n(a table per model: pass rate per scenario and overall, tokens and cost, p50/p95 latency, look-ups per diagnosis; it spends real tokens).`;
}

/**
 * The command: replay by default; `--live` with a key asks the API. `--live` without a key
 * replays, says how to run live and exits as the replay does (0 when it passes). Bad flags: 2.
 */
export interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Output): Promise<number> {
  const write = io.out;
  const parsed = parseEvalArgs(argv, SCENARIOS.map((s) => s.key));
  if (!parsed.ok) {
    io.err(`npm run eval: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  const args = parsed.args;
  if (args.help) {
    write(USAGE);
    return 0;
  }
  const key = env['ANTHROPIC_API_KEY'];
  if (args.live && key) {
    const defaultModel = loadConfig({ HEALER_MODEL: env['HEALER_MODEL'] }).settings.model.name;
    const report = await evaluateLive({
      env,
      models: args.models.length > 0 ? args.models : [defaultModel],
      runs: args.runs,
      scenarios: args.only.length > 0 ? SCENARIOS.filter((s) => args.only.includes(s.key)) : SCENARIOS,
    });
    write(formatLiveReport(report));
    return liveExitCode(report);
  }
  const report = await evaluate(env['HEALER_MODEL'] ? { model: env['HEALER_MODEL'] } : {});
  write(formatReport(report));
  write('');
  if (args.live) write('--live needs ANTHROPIC_API_KEY: none is set, so the scripted replay ran instead.');
  else if (key) write('ANTHROPIC_API_KEY is set, but the replay never uses it: add --live to ask the real API.');
  write(liveHint(args));
  return report.rows.some((r) => r.status === 'FAIL') ? 1 : 0;
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main(process.argv.slice(2), process.env, { out: (text) => console.log(text), err: (text) => console.error(text) }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
