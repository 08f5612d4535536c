import { isActionId } from '../lib/actions/catalog.js';
import { costAt, type ModelPrice } from '../lib/diagnose/cost.js';
import type { Diagnosis } from '../lib/domain/types.js';
import { describeExpected, namesCause, type Expected, type FinalOutcome } from '../test/fixtures/scenarios.js';
import { mean, percentile } from './stats.js';

/**
 * The live eval's decisions and figures, pure: whether one diagnosis counts as right, and the
 * per-scenario and per-model sums, percentiles and costs printed from them. eval/live.ts does
 * the I/O (the real API, the clock); nothing here reads either.
 */

type Usage = NonNullable<Diagnosis['usage']>;

/** What one live diagnosis of one scenario did, as measured. */
export interface LiveRun {
  readonly key: string;
  /** 1-based. */
  readonly run: number;
  /** The model's own verdict, before the cross-check; undefined when it failed or was refused by validation. */
  readonly verdict: Pick<Diagnosis, 'recommendation' | 'summary' | 'rootCause'> | undefined;
  /** What happened in the end, after fallback, cross-check and policy. */
  readonly outcome: FinalOutcome;
  /** The policy rule that stopped an action, if one did. */
  readonly deniedBy: string | undefined;
  /** The fallback wrapper's reason: the model failed, or its answer was downgraded. */
  readonly fallbackReason: string | undefined;
  /** Wall-clock milliseconds of the whole diagnosis (runbook, model steps, look-ups). */
  readonly ms: number;
  /** Look-ups the model asked for (read or refused). */
  readonly lookups: number;
  /** Tokens the API reported for every request of the diagnosis, failed attempts included. */
  readonly usage: Usage | undefined;
}

export type Verdict = 'pass' | 'miss' | 'unavailable';

export interface Judged {
  readonly verdict: Verdict;
  /** Why not a pass, in a few words. */
  readonly why?: string;
  /** An allowed action (or one waiting for approval) on a row whose safe response is no action. */
  readonly actedAgainstTable: boolean;
}

const outcomesOf = (e: Expected): readonly FinalOutcome[] => [e.outcome, ...(e.also ?? [])];

/**
 * Whether a live diagnosis counts as right. Judged on the model, not only on where code ended:
 * a run passes when the model answered, the final outcome is one the row accepts, no code had to
 * stop a model action the row does not expect stopped (a cross-check downgrade, or a policy rule
 * other than the row's own), and on rows that name a cause the model's words name it. A page a
 * code path produced after the model failed is "unavailable", never a pass.
 */
export function judgeRun(run: LiveRun, expected: Expected): Judged {
  const acceptable = outcomesOf(expected);
  const actedAgainstTable = !isActionId(expected.outcome) && expected.outcome !== 'approval' && (isActionId(run.outcome) || run.outcome === 'approval');
  if (run.verdict === undefined) return { verdict: 'unavailable', why: run.fallbackReason ?? 'no model verdict', actedAgainstTable };
  const miss = (why: string): Judged => ({ verdict: 'miss', why, actedAgainstTable });
  if (!acceptable.includes(run.outcome)) return miss(`${run.outcome}, expected ${describeExpected(expected)}`);
  if (isActionId(run.verdict.recommendation) && run.fallbackReason !== undefined) return miss(`${run.verdict.recommendation} downgraded to page by the cross-check`);
  if (run.deniedBy !== undefined && run.deniedBy !== expected.deniedBy) return miss(`${run.verdict.recommendation} stopped by policy (${run.deniedBy})`);
  if (!namesCause(expected, run.verdict)) return miss(`right outcome, cause not named (${String(expected.cause)})`);
  return { verdict: 'pass', actedAgainstTable };
}

export interface Tokens {
  readonly input: number;
  readonly cacheWrite: number;
  readonly cacheRead: number;
  readonly output: number;
}

/** The figures of a group of runs (one scenario, or a whole model). */
export interface Figures {
  readonly diagnoses: number;
  readonly passed: number;
  readonly unavailable: number;
  readonly actedAgainstTable: number;
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
  readonly lookupsPerDiagnosis: number | undefined;
  readonly tokens: Tokens;
  /** USD at the model's list price; undefined without a price. */
  readonly costUsd: number | undefined;
  /** Final outcomes and how often, e.g. { page: 2, 'evict-pod': 1 }. */
  readonly outcomes: Readonly<Record<string, number>>;
}

export function sumTokens(runs: readonly LiveRun[]): Tokens {
  const add = (f: (u: Usage) => number | undefined) => runs.reduce((n, r) => n + (r.usage ? (f(r.usage) ?? 0) : 0), 0);
  return { input: add((u) => u.inputTokens), cacheWrite: add((u) => u.cacheWriteTokens), cacheRead: add((u) => u.cacheReadTokens), output: add((u) => u.outputTokens) };
}

export function figuresOf(runs: readonly { readonly run: LiveRun; readonly judged: Judged }[], price: ModelPrice | undefined): Figures {
  const ms = runs.map((r) => r.run.ms);
  const tokens = sumTokens(runs.map((r) => r.run));
  const outcomes: Record<string, number> = {};
  for (const { run } of runs) outcomes[run.outcome] = (outcomes[run.outcome] ?? 0) + 1;
  return {
    diagnoses: runs.length,
    passed: runs.filter((r) => r.judged.verdict === 'pass').length,
    unavailable: runs.filter((r) => r.judged.verdict === 'unavailable').length,
    actedAgainstTable: runs.filter((r) => r.judged.actedAgainstTable).length,
    p50Ms: percentile(ms, 50),
    p95Ms: percentile(ms, 95),
    lookupsPerDiagnosis: mean(runs.map((r) => r.run.lookups)),
    tokens,
    // Cost is linear in tokens: the price of the sum is the sum of the prices.
    costUsd: price ? costAt({ inputTokens: tokens.input, cacheWriteTokens: tokens.cacheWrite, cacheReadTokens: tokens.cacheRead, outputTokens: tokens.output }, price) : undefined,
    outcomes,
  };
}

export interface LiveScenario {
  readonly key: string;
  readonly title: string;
  readonly expected: Expected;
}

export interface LiveModelReport {
  readonly model: string;
  readonly price: ModelPrice | undefined;
  readonly runs: readonly LiveRun[];
}

export interface LiveReport {
  /** Where the requests went: the SDK's default, or ANTHROPIC_BASE_URL. */
  readonly endpoint: string;
  readonly runsPerScenario: number;
  readonly maxSteps: number;
  readonly scenarios: readonly LiveScenario[];
  readonly models: readonly LiveModelReport[];
  readonly ms: number;
}

// ---------------------------------------------------------------------------------------------
// Printing

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
export const formatUsd = (n: number | undefined): string => (n === undefined ? 'n/a' : `$${n.toFixed(5)}`);
export const formatMs = (n: number | undefined): string => (n === undefined ? '-' : String(Math.round(n)));
export const formatPerDiagnosis = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(2));
const percent = (k: number, n: number): string => (n === 0 ? '-' : `${((100 * k) / n).toFixed(1)}%`);
const outcomeList = (o: Readonly<Record<string, number>>): string => Object.entries(o).sort(([, a], [, b]) => b - a).map(([k, v]) => `${k}×${v}`).join(' ');

const COLUMNS = [
  ['#', 4], ['scenario', 44], ['expected', 22], ['got', 26], ['pass', 7], ['p50 ms', 7], ['p95 ms', 7], ['look-ups', 8],
  ['in tok', 8], ['cache wr', 8], ['cache rd', 9], ['out tok', 8], ['cost', 10],
] as const;
/** Columns from here on are figures: right-aligned. */
const FIRST_FIGURE = 4;

function line(cells: readonly string[]): string {
  return cells.map((c, i) => {
    const width = COLUMNS[i]?.[1] ?? 10;
    return i >= FIRST_FIGURE ? c.padStart(width) : clip(c, width).padEnd(width);
  }).join(' ').trimEnd();
}

const figureCells = (f: Figures): string[] => [
  `${f.passed}/${f.diagnoses}`, formatMs(f.p50Ms), formatMs(f.p95Ms), formatPerDiagnosis(f.lookupsPerDiagnosis),
  String(f.tokens.input), String(f.tokens.cacheWrite), String(f.tokens.cacheRead), String(f.tokens.output), formatUsd(f.costUsd),
];

export interface JudgedModel {
  readonly model: LiveModelReport;
  readonly perScenario: readonly { readonly scenario: LiveScenario; readonly judged: readonly { readonly run: LiveRun; readonly judged: Judged }[]; readonly figures: Figures }[];
  readonly total: Figures;
  readonly misses: readonly { readonly key: string; readonly run: number; readonly verdict: Verdict; readonly why: string }[];
}

export function judgeModel(model: LiveModelReport, scenarios: readonly LiveScenario[]): JudgedModel {
  const all: { run: LiveRun; judged: Judged }[] = [];
  const perScenario = scenarios.map((scenario) => {
    const judged = model.runs.filter((r) => r.key === scenario.key).map((run) => ({ run, judged: judgeRun(run, scenario.expected) }));
    all.push(...judged);
    return { scenario, judged, figures: figuresOf(judged, model.price) };
  });
  const misses = all.filter((r) => r.judged.verdict !== 'pass').map((r) => ({ key: r.run.key, run: r.run.run, verdict: r.judged.verdict, why: r.judged.why ?? '' }));
  return { model, perScenario, total: figuresOf(all, model.price), misses };
}

/** One table per model, then (with several) one line per model side by side. */
export function formatLiveReport(report: LiveReport): string {
  const out: string[] = [];
  const judged = report.models.map((m) => judgeModel(m, report.scenarios));
  out.push(`k8s-healer eval --live: ${report.endpoint}; ${report.runsPerScenario} run(s) per scenario; look-ups allowed (up to ${report.maxSteps} requests per diagnosis), as production diagnoses.`);
  out.push('Latency is wall-clock per diagnosis (runbook, model requests and look-ups); percentiles by nearest rank. Cost at list prices (lib/diagnose/cost.ts; HEALER_MODEL_PRICES overrides).');
  for (const j of judged) {
    const { model, total } = j;
    out.push('');
    out.push(`model ${model.model}`);
    out.push(line(COLUMNS.map(([h]) => h)));
    out.push(line(COLUMNS.map(([, w]) => '-'.repeat(w))));
    for (const { scenario, figures } of j.perScenario) {
      out.push(line([scenario.key, scenario.title, describeExpected(scenario.expected), outcomeList(figures.outcomes), ...figureCells(figures)]));
    }
    out.push(line(COLUMNS.map(([, w]) => '-'.repeat(w))));
    out.push(line(['', `all: ${j.perScenario.length} scenarios, ${total.diagnoses} diagnoses`, '', `pass ${percent(total.passed, total.diagnoses)}`, ...figureCells(total)]));
    out.push(`Pass rate ${total.passed}/${total.diagnoses} (${percent(total.passed, total.diagnoses)}); model unavailable ${total.unavailable}; acted where the row says page or none: ${total.actedAgainstTable}.`);
    out.push(`Mean cost per diagnosis: ${formatUsd(total.costUsd === undefined || total.diagnoses === 0 ? undefined : total.costUsd / total.diagnoses)}; look-ups per diagnosis ${formatPerDiagnosis(total.lookupsPerDiagnosis)}.`);
    out.push(model.price
      ? `Prices (USD/MTok, ${model.model}): input ${model.price.input}, 5m cache write ${model.price.cacheWrite}, cache read ${model.price.cacheRead}, output ${model.price.output}.`
      : `No list price on file for ${model.model}: cost not estimated.`);
    if (j.misses.length > 0) {
      out.push('Not passed:');
      for (const m of j.misses) out.push(`  ${m.key} run ${m.run}: ${m.verdict === 'unavailable' ? 'no model verdict: ' : ''}${clip(m.why, 200)}`);
    }
  }
  if (judged.length > 1) {
    out.push('');
    out.push('models side by side');
    out.push(`${'model'.padEnd(28)} ${'pass'.padStart(14)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'look-ups'.padStart(8)} ${'cost'.padStart(10)} ${'per diag'.padStart(10)}`);
    for (const { model, total } of judged) {
      const pass = `${total.passed}/${total.diagnoses} ${percent(total.passed, total.diagnoses)}`;
      const per = total.costUsd === undefined || total.diagnoses === 0 ? undefined : total.costUsd / total.diagnoses;
      out.push(`${clip(model.model, 28).padEnd(28)} ${pass.padStart(14)} ${formatMs(total.p50Ms).padStart(7)} ${formatMs(total.p95Ms).padStart(7)} ${formatPerDiagnosis(total.lookupsPerDiagnosis).padStart(8)} ${formatUsd(total.costUsd).padStart(10)} ${formatUsd(per).padStart(10)}`);
    }
  }
  out.push('');
  out.push(`${judged.reduce((n, j) => n + j.total.diagnoses, 0)} live diagnoses in ${(report.ms / 1000).toFixed(1)} s`);
  return out.join('\n');
}

/**
 * The exit code of a live run: 1 when any run acted on a row whose safe response is no action
 * (code should have stopped it, whatever the model said), or when a model answered none of its
 * diagnoses (a wrong key or model id measures nothing); else 0. Misses are measured, not failed.
 */
export function liveExitCode(report: LiveReport): number {
  const judged = report.models.map((m) => judgeModel(m, report.scenarios));
  const acted = judged.some((j) => j.total.actedAgainstTable > 0);
  const silent = judged.some((j) => j.total.diagnoses > 0 && j.total.unavailable === j.total.diagnoses);
  return acted || silent ? 1 : 0;
}
