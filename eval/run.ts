import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { anthropicDiagnoserFromConfig } from '../lib/adapters/anthropic-diagnoser.js';
import { loadConfig } from '../lib/config/config.js';
import { withRunbookFallback } from '../lib/diagnose/fallback.js';
import { buildPrompt } from '../lib/diagnose/prompt.js';
import { diagnoseByRunbook, runbookDiagnoser } from '../lib/diagnose/runbook.js';
import type { Diagnosis } from '../lib/domain/types.js';
import type { Diagnoser } from '../lib/ports/index.js';
import {
  actionDeniedBy,
  decideFor,
  describeExpected,
  finalOutcome,
  REFERENCED_ROWS,
  SCENARIOS,
  SECRET_CORPUS,
  type FinalOutcome,
  type Scenario,
} from '../test/fixtures/scenarios.js';
import { startMessagesApiServer, type MessagesApiServer, type ScriptedStep } from '../test/support/messages-api-server.js';
import { ADVERSARIAL, goodStep, type AdversarialCase } from './scripts.js';

/**
 * `npm run eval`: every scenario of shared/design/SCENARIOS.md through the runbook path and the
 * model path (the real SDK, the runbook fallback and cross-check, then policy), plus adversarial
 * model answers. Without ANTHROPIC_API_KEY it replays eval/scripts.ts against the local
 * Messages-API server; with a key it asks the real API (scenarios only: adversarial answers are
 * scripted). Prints one table and exits non-zero when any row fails.
 */

type Usage = NonNullable<Diagnosis['usage']>;

/**
 * List prices in USD per million tokens, from platform.claude.com/docs/en/models/sonnet-5-5/overview
 * (Sonnet 5.5 and Sonnet 5: input $2, 5m cache write $2.50, cache read $0.20, output $10) and the
 * pricing page (Haiku 4.5: $1, $1.25, $0.10, $5). Third-party trackers report a Sonnet 5.5 cache-read
 * cut to $0.10 from 2026-10-07 that the official page found did not show: $0.20 kept, an overestimate at worst.
 */
export const PRICES_PER_MTOK: Readonly<Record<string, { input: number; cacheWrite: number; cacheRead: number; output: number }>> = {
  'claude-sonnet-5-5': { input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 },
  'claude-sonnet-5': { input: 2, cacheWrite: 2.5, cacheRead: 0.2, output: 10 },
  'claude-haiku-4-5': { input: 1, cacheWrite: 1.25, cacheRead: 0.1, output: 5 },
};

/** Price of a model id, also for dated ids (claude-haiku-4-5-20251001); the longest matching name wins. */
export function priceOf(model: string): (typeof PRICES_PER_MTOK)[string] | undefined {
  const name = Object.keys(PRICES_PER_MTOK)
    .filter((m) => model === m || model.startsWith(`${m}-`) || model.startsWith(`${m}@`))
    .sort((a, b) => b.length - a.length)[0];
  return name ? PRICES_PER_MTOK[name] : undefined;
}

export function costOf(usage: Usage | undefined, model: string): number | undefined {
  const price = priceOf(model);
  if (!usage || !price) return undefined;
  return (
    usage.inputTokens * price.input +
    (usage.cacheWriteTokens ?? 0) * price.cacheWrite +
    (usage.cacheReadTokens ?? 0) * price.cacheRead +
    usage.outputTokens * price.output
  ) / 1_000_000;
}

export type Status = 'pass' | 'FAIL' | 'gap' | 'ref' | 'skip';

export interface EvalRow {
  readonly kind: 'scenario' | 'adversarial' | 'reference';
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

const meets = (r: PathResult, s: Scenario): boolean => r.outcome === s.expected.outcome && r.deniedBy === s.expected.deniedBy;

/** Every secret of the corpus that appears in `text`. */
export function leakedSecrets(text: string): string[] {
  return Object.entries(SECRET_CORPUS).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

interface ModelRunner {
  readonly mode: 'replay' | 'live';
  readonly model: string;
  /** Diagnoses with the model (the scripted step in replay), and returns what left the healer. */
  run(s: Scenario, step: ScriptedStep): Promise<{ diagnosis: Diagnosis; sent: string; problems: string[] }>;
  close(): Promise<void>;
}

const REPLAY_KEY = 'sk-ant-eval-local-000000000000000000000000';

async function replayRunner(model: string | undefined): Promise<ModelRunner> {
  const server: MessagesApiServer = await startMessagesApiServer({ apiKey: REPLAY_KEY });
  const config = loadConfig({
    ANTHROPIC_API_KEY: REPLAY_KEY,
    ANTHROPIC_BASE_URL: server.baseURL,
    HEALER_MODEL_TIMEOUT_SECONDS: '10',
    // One scripted reply per diagnosis: a retry would consume the next row's reply.
    HEALER_MODEL_MAX_RETRIES: '0',
    ...(model ? { HEALER_MODEL: model } : {}),
  });
  const healer = withRunbookFallback(anthropicDiagnoserFromConfig(config), runbookDiagnoser);
  return {
    mode: 'replay',
    model: config.model,
    async run(s, step) {
      const before = server.requests.length;
      server.enqueue(step);
      const diagnosis = await healer.diagnose(s.incident, s.evidence);
      const requests = server.requests.slice(before);
      const problems: string[] = [];
      if (server.pending() !== 0) problems.push('the scripted reply was not consumed');
      if (requests.length !== 1) problems.push(`expected 1 request, the server saw ${requests.length}`);
      for (const r of requests) if (r.problems.length > 0) problems.push(`request refused by the server: ${r.problems.join('; ')}`);
      // The prompt cache is per server: keep it warm across rows, as one Lambda's calls would.
      return { diagnosis, sent: requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n'), problems };
    },
    close: () => server.close(),
  };
}

function liveRunner(): ModelRunner {
  const config = loadConfig(process.env);
  const model: Diagnoser | undefined = anthropicDiagnoserFromConfig(config);
  if (!model) throw new Error('live mode needs ANTHROPIC_API_KEY');
  const healer = withRunbookFallback(model, runbookDiagnoser);
  return {
    mode: 'live',
    model: config.model,
    async run(s) {
      const diagnosis = await healer.diagnose(s.incident, s.evidence);
      // Requests to the real API are not recorded here: check the prompt they were built from.
      const prompt = buildPrompt(s.incident, s.evidence);
      return { diagnosis, sent: `${prompt.system}\n${prompt.user}`, problems: [] };
    },
    close: () => Promise.resolve(),
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

export async function evaluate(options: { live?: boolean; model?: string } = {}): Promise<EvalReport> {
  const start = performance.now();
  const runner = options.live ? liveRunner() : await replayRunner(options.model);
  const rows: EvalRow[] = [];
  try {
    for (const s of SCENARIOS) rows.push(await scenarioRow(s, runner));
    for (const ref of REFERENCED_ROWS) {
      rows.push({ kind: 'reference', key: String(ref.row), title: ref.title, expected: '-', runbook: '-', model: '-', status: 'ref', problems: [`covered by ${ref.coveredBy}`] });
    }
    for (const c of ADVERSARIAL) rows.push(await adversarialRow(c, runner));
  } finally {
    await runner.close();
  }
  rows.sort((a, b) => (a.kind === 'adversarial' ? 1 : 0) - (b.kind === 'adversarial' ? 1 : 0) || (a.kind === 'adversarial' ? 0 : rowNumber(a.key) - rowNumber(b.key)));
  return { mode: runner.mode, model: runner.model, rows, ms: performance.now() - start };
}

const rowNumber = (key: string): number => Number.parseInt(key, 10);

// ---------------------------------------------------------------------------------------------
// Printing

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const num = (n: number | undefined): string => (n === undefined ? '-' : String(n));
const usd = (n: number | undefined): string => (n === undefined ? 'n/a' : `$${n.toFixed(5)}`);

export function formatReport(report: EvalReport): string {
  const columns = [
    ['#', 4], ['scenario', 44], ['expected', 24], ['runbook got', 24], ['model got', 34], ['pass', 4],
    ['in tok', 6], ['out tok', 7], ['cache rd', 8], ['est. cost', 9],
  ] as const;
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => {
      const [, width] = columns[i] ?? ['', 10];
      return i >= 6 ? c.padStart(width) : clip(c, width).padEnd(width);
    }).join(' ').trimEnd();
  const out: string[] = [];
  out.push(`k8s-healer eval: ${report.mode === 'replay' ? 'scripted replies on the local Messages-API server (token counts are its ~4 chars/token estimates)' : 'the real Claude API'}; model ${report.model}`);
  out.push('');
  out.push(line(columns.map(([h]) => h)));
  out.push(line(columns.map(([, w]) => '-'.repeat(w))));
  let heading = '';
  for (const r of report.rows) {
    const section = r.kind === 'adversarial' ? 'adversarial model answers (must end in a page, never an allowed action)' : '';
    if (section && section !== heading) {
      heading = section;
      out.push('');
      out.push(section);
    }
    if (r.kind === 'reference') {
      out.push(`${r.key.padEnd(5)}${clip(r.title, 44).padEnd(45)}${r.problems.join('; ')}`);
      continue;
    }
    const pass = r.status === 'pass' ? 'ok' : r.status;
    const cost = r.usage ? usd(costOf(r.usage, report.model)) : '-';
    out.push(line([r.key, r.title, r.expected, r.runbook, r.model, pass, num(r.usage?.inputTokens), num(r.usage?.outputTokens), num(r.usage?.cacheReadTokens), cost]));
  }
  const used = report.rows.filter((r) => r.usage);
  const sum = (f: (u: Usage) => number) => used.reduce((n, r) => n + (r.usage ? f(r.usage) : 0), 0);
  const totalCost = used.reduce<number | undefined>((n, r) => {
    const c = costOf(r.usage, report.model);
    return n === undefined || c === undefined ? undefined : n + c;
  }, 0);
  out.push(line(columns.map(([, w]) => '-'.repeat(w))));
  out.push(line(['', `${used.length} model calls`, '', '', '', '', String(sum((u) => u.inputTokens)), String(sum((u) => u.outputTokens)), String(sum((u) => u.cacheReadTokens ?? 0)), usd(totalCost)]));

  const price = priceOf(report.model);
  out.push('');
  out.push(price
    ? `Prices (USD/MTok, list, ${report.model}): input ${price.input}, 5m cache write ${price.cacheWrite}, cache read ${price.cacheRead}, output ${price.output}. Cache writes (${sum((u) => u.cacheWriteTokens ?? 0)} tokens) are in the cost.`
    : `No list price on file for ${report.model}: cost not estimated (eval/run.ts PRICES_PER_MTOK).`);

  const pending = new Map<string, string[]>();
  for (const s of SCENARIOS) if (s.pendingAction) pending.set(s.pendingAction, [...(pending.get(s.pendingAction) ?? []), s.key]);
  out.push('');
  out.push('Page until the action exists (ACTION_IDS has evict-pod only):');
  for (const [action, keys] of pending) out.push(`  ${action}: rows ${keys.join(', ')}`);

  const gaps = report.rows.filter((r) => r.status === 'gap');
  if (gaps.length > 0) {
    out.push('');
    out.push('Known gaps (SCENARIOS.md not met by lib/ yet; reported, not counted as failures):');
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

async function main(): Promise<number> {
  const live = Boolean(process.env['ANTHROPIC_API_KEY']);
  const report = await evaluate({ live, ...(process.env['HEALER_MODEL'] ? { model: process.env['HEALER_MODEL'] } : {}) });
  console.log(formatReport(report));
  return report.rows.some((r) => r.status === 'FAIL') ? 1 : 0;
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
