/**
 * The command line of `npm run eval`. Pure: argv in, options or one clear error out (the caller
 * prints it with USAGE and exits 2).
 */

export interface EvalArgs {
  /** Ask the real API (needs ANTHROPIC_API_KEY); otherwise replay scripted answers locally. */
  readonly live: boolean;
  /** Model ids for --live, in the order given; empty means HEALER_MODEL or its default. */
  readonly models: readonly string[];
  /** Diagnoses per scenario and model (--live). */
  readonly runs: number;
  /** Scenario keys to run (--live); empty means every scenario. */
  readonly only: readonly string[];
  readonly help: boolean;
}

export const MAX_RUNS = 50;

export const USAGE = [
  'usage: npm run eval [-- --live [--model <id>[,<id>...]]... [--runs <n>] [--only <key>[,<key>...]]]',
  '',
  '  (no flags)   replay every scenario with scripted answers on a local Messages-API server (no key, no cost)',
  '  --live       ask the real Claude API (ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL to point elsewhere)',
  '  --model      model id(s): comma-separated or repeated; one table per model (default: HEALER_MODEL or claude-sonnet-5-5)',
  `  --runs       diagnoses per scenario and model, 1..${MAX_RUNS} (default 1)`,
  '  --only       scenario keys from docs/scenarios.md, e.g. 1,21a,23 (default: every scenario)',
].join('\n');

export type ParsedArgs = { readonly ok: true; readonly args: EvalArgs } | { readonly ok: false; readonly error: string };

/** Model ids as the API and the price table spell them (claude-haiku-4-5, claude-sonnet-4-5@20250929). */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$/;
const SCENARIO_KEY = /^[0-9]{1,2}[a-z]?$/;

const list = (value: string): string[] => value.split(',').map((v) => v.trim());

export function parseEvalArgs(argv: readonly string[], scenarioKeys: readonly string[]): ParsedArgs {
  let live = false;
  let help = false;
  let runs: number | undefined;
  const models: string[] = [];
  const only: string[] = [];
  const fail = (error: string): ParsedArgs => ({ ok: false, error });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = flag === '--model' || flag === '--runs' || flag === '--only';
    let value: string | undefined;
    if (takesValue) {
      value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) return fail(`${flag} needs a value`);
    } else if (eq > 0) {
      return fail(`${flag} takes no value`);
    }
    switch (flag) {
      case '--live':
        live = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      case '--model':
        for (const m of list(value ?? '')) {
          if (!MODEL_ID.test(m)) return fail(`--model: ${JSON.stringify(m)} is not a model id`);
          if (models.includes(m)) return fail(`--model: ${m} given twice`);
          models.push(m);
        }
        break;
      case '--runs': {
        if (runs !== undefined) return fail('--runs given twice');
        const n = Number(value);
        if (!/^\d+$/.test(value ?? '') || !Number.isSafeInteger(n) || n < 1 || n > MAX_RUNS) return fail(`--runs: expected a whole number from 1 to ${MAX_RUNS}, got ${JSON.stringify(value)}`);
        runs = n;
        break;
      }
      case '--only':
        for (const k of list(value ?? '')) {
          if (!SCENARIO_KEY.test(k) || !scenarioKeys.includes(k)) return fail(`--only: no scenario ${JSON.stringify(k)} (known: ${scenarioKeys.join(', ')})`);
          if (!only.includes(k)) only.push(k);
        }
        break;
      default:
        return fail(arg.startsWith('-') ? `unknown flag ${JSON.stringify(arg)}` : `unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  // The replay plays one scripted answer per case with one model id: these would be silently ignored.
  if (!live && !help) {
    const liveOnly = [models.length > 0 && '--model', runs !== undefined && '--runs', only.length > 0 && '--only'].filter((f): f is string => typeof f === 'string');
    if (liveOnly.length > 0) return fail(`${liveOnly.join(', ')} ${liveOnly.length === 1 ? 'applies' : 'apply'} to --live only`);
  }
  return { ok: true, args: { live, models, runs: runs ?? 1, only, help } };
}
