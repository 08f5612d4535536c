import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RUNS, parseEvalArgs } from '../../eval/args.js';

const KEYS = ['1', '2a', '21a', '23'] as const;
const parse = (...argv: string[]) => parseEvalArgs(argv, KEYS);

describe('npm run eval flags', () => {
  it('default to a replay of every scenario, once', () => {
    expect(parse()).toEqual({ ok: true, args: { live: false, models: [], runs: 1, only: [], help: false } });
  });

  it('--live takes models comma-separated or repeated (either spelling), runs and scenario keys', () => {
    // Act
    const got = parse('--live', '--model', 'claude-sonnet-5-5,claude-haiku-4-5', '--model=claude-opus-5', '--runs=3', '--only', '21a,23,21a');

    // Assess
    expect(got).toEqual({ ok: true, args: { live: true, models: ['claude-sonnet-5-5', 'claude-haiku-4-5', 'claude-opus-5'], runs: 3, only: ['21a', '23'], help: false } });
  });

  it.each([
    [['--bogus'], /unknown flag "--bogus"/],
    [['live'], /unexpected argument "live"/],
    [['--live', '--runs'], /--runs needs a value/],
    [['--live', '--runs', '--model', 'x'], /--runs needs a value/],
    [['--live', '--runs', '0'], /from 1 to 50, got "0"/],
    [['--live', '--runs', '2.5'], /got "2.5"/],
    [['--live', '--runs', '1e1'], /got "1e1"/],
    [['--live', '--runs', String(MAX_RUNS + 1)], /from 1 to 50/],
    [['--live', '--runs', '2', '--runs', '3'], /--runs given twice/],
    [['--live', '--model', 'a b'], /"a b" is not a model id/],
    [['--live', '--model', 'x,'], /"" is not a model id/],
    [['--live', '--model', 'x', '--model', 'x'], /x given twice/],
    [['--live', '--only', '99'], /no scenario "99"/],
    [['--live=yes'], /--live takes no value/],
    [['--runs', '3'], /--runs applies to --live only/],
    [['--model', 'x', '--only', '1'], /--model, --only apply to --live only/],
  ])('%j is refused: %s', (argv, error) => {
    // Act
    const got = parse(...argv);

    // Assess
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.error).toMatch(error);
  });

  it('give back exactly the models, runs and keys written, however they are spelled', () => {
    const model = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(model, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: MAX_RUNS }),
        fc.subarray([...KEYS]),
        fc.boolean(),
        (models, runs, only, joined) => {
          // Prepare: the same request written with commas or repeated flags, with = or a separate value
          const modelArgs = joined ? [`--model=${models.join(',')}`] : models.flatMap((m) => ['--model', m]);
          const argv = ['--live', ...modelArgs, '--runs', String(runs), ...(only.length > 0 ? ['--only', only.join(',')] : [])];

          // Act
          const got = parseEvalArgs(argv, KEYS);

          // Assess
          expect(got).toEqual({ ok: true, args: { live: true, models, runs, only, help: false } });
        },
      ),
      { numRuns: 200 },
    );
  });
});
