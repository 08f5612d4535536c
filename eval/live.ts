import { anthropicDiagnoserFromConfig } from '../lib/adapters/anthropic-diagnoser.js';
import { loadConfig } from '../lib/config/config.js';
import { priceOf } from '../lib/diagnose/cost.js';
import { withRunbookFallback } from '../lib/diagnose/fallback.js';
import { runbookDiagnoser } from '../lib/diagnose/runbook.js';
import type { Diagnosis } from '../lib/domain/types.js';
import type { Diagnoser } from '../lib/ports/index.js';
import { actionDeniedBy, decideFor, finalOutcome, type Scenario } from '../test/fixtures/scenarios.js';
import { clusterFromEvidence, FixtureInvestigator } from '../test/support/fixture-investigator.js';
import type { LiveModelReport, LiveReport, LiveRun } from './live-report.js';

/**
 * `npm run eval -- --live`: every chosen scenario, N times per model, through the real SDK to
 * whatever ANTHROPIC_BASE_URL names (the real API by default), exactly as the worker diagnoses:
 * the runbook fallback and cross-check around the model, look-ups allowed over the scenario's
 * cluster, then policy. Measures wall-clock latency, tokens as the API reported them, and
 * look-ups; eval/live-report.ts judges and prints.
 */

export interface LiveOptions {
  /** ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and any HEALER_MODEL_* settings; HEALER_MODEL is set per model. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly models: readonly string[];
  readonly runs: number;
  readonly scenarios: readonly Scenario[];
  /** Told after each diagnosis (progress on a long run). */
  readonly onRun?: (model: string, run: LiveRun) => void;
}

/** Keeps the model's own verdict (before the cross-check), which the wrapper replaces on a downgrade. */
function recording(inner: Diagnoser): { diagnoser: Diagnoser; take(): Diagnosis | undefined } {
  let last: Diagnosis | undefined;
  return {
    diagnoser: {
      async diagnose(incident, evidence, options) {
        last = undefined;
        last = await inner.diagnose(incident, evidence, options);
        return last;
      },
    },
    take: () => last,
  };
}

export async function evaluateLive(options: LiveOptions): Promise<LiveReport> {
  const start = performance.now();
  const env = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
  if (!env['ANTHROPIC_API_KEY']) throw new Error('live mode needs ANTHROPIC_API_KEY');
  const models: LiveModelReport[] = [];
  let maxSteps = 0;
  for (const model of options.models) {
    const config = loadConfig({ ...env, HEALER_MODEL: model });
    maxSteps = config.settings.model.maxSteps;
    const runs: LiveRun[] = [];
    // Runs outermost: a rate limit or an outage late in the run costs every scenario a run, not one scenario all of them.
    for (let run = 1; run <= options.runs; run++) {
      for (const s of options.scenarios) {
        // A fresh investigator per diagnosis: its reads are this diagnosis' only.
        const investigator = new FixtureInvestigator(clusterFromEvidence(s.evidence));
        const claude = anthropicDiagnoserFromConfig(config, { investigator });
        if (!claude) throw new Error('live mode needs ANTHROPIC_API_KEY');
        const recorder = recording(claude);
        const healer = withRunbookFallback(recorder.diagnoser, runbookDiagnoser);
        const t0 = performance.now();
        const diagnosis = await healer.diagnose(s.incident, s.evidence);
        const ms = performance.now() - t0;
        const decision = decideFor(s, diagnosis);
        const verdict = recorder.take();
        const measured: LiveRun = {
          key: s.key,
          run,
          verdict: verdict ? { recommendation: verdict.recommendation, summary: verdict.summary, rootCause: verdict.rootCause } : undefined,
          outcome: finalOutcome(decision, diagnosis),
          deniedBy: actionDeniedBy(decision, diagnosis),
          fallbackReason: diagnosis.fallbackReason,
          ms,
          lookups: diagnosis.usage?.lookups?.length ?? 0,
          usage: diagnosis.usage,
        };
        runs.push(measured);
        options.onRun?.(model, measured);
      }
    }
    models.push({ model, price: priceOf(model, config.settings.model.prices), runs });
  }
  return {
    endpoint: env['ANTHROPIC_BASE_URL'] ? `the Messages API at ANTHROPIC_BASE_URL=${env['ANTHROPIC_BASE_URL']}` : 'the Claude API (api.anthropic.com)',
    runsPerScenario: options.runs,
    maxSteps,
    scenarios: options.scenarios.map((s) => ({ key: s.key, title: s.title, expected: s.expected })),
    models,
    ms: performance.now() - start,
  };
}
