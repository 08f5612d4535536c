import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../lib/domain/types.js';
import { DEFAULT_MODEL_PRICES, costOf } from '../../lib/diagnose/cost.js';
import { figuresOf, judgeRun, type LiveRun } from '../../eval/live-report.js';
import type { Expected, FinalOutcome } from '../fixtures/scenarios.js';

const OUTCOMES: readonly FinalOutcome[] = [...ACTION_IDS, 'approval', 'page', 'none'];
const RECOMMENDATIONS = [...ACTION_IDS, 'page', 'none'] as const;

const run = (over: Partial<LiveRun>): LiveRun => ({
  key: '1', run: 1, verdict: { recommendation: 'page', summary: 's', rootCause: 'r' }, outcome: 'page', deniedBy: undefined, fallbackReason: undefined, ms: 10, lookups: 0, usage: undefined, ...over,
});

const arbRun: fc.Arbitrary<LiveRun> = fc.record({
  key: fc.constant('1'),
  run: fc.integer({ min: 1, max: 5 }),
  verdict: fc.option(fc.record({ recommendation: fc.constantFrom(...RECOMMENDATIONS), summary: fc.constantFrom('orders-db is down', 'a pod fails'), rootCause: fc.constant('x') }), { nil: undefined }),
  outcome: fc.constantFrom(...OUTCOMES),
  deniedBy: fc.constantFrom(undefined, 'cooldown', 'still-unhealthy'),
  fallbackReason: fc.constantFrom(undefined, 'model recommended evict-pod, downgraded to page: …'),
  ms: fc.integer({ min: 0, max: 30_000 }),
  lookups: fc.integer({ min: 0, max: 12 }),
  usage: fc.option(fc.record({
    inputTokens: fc.nat(50_000), outputTokens: fc.nat(5_000), cacheReadTokens: fc.nat(50_000), cacheWriteTokens: fc.nat(50_000),
  }), { nil: undefined }),
});

const arbExpected: fc.Arbitrary<Expected> = fc.oneof(
  fc.record({ outcome: fc.constantFrom<FinalOutcome>('evict-pod', 'page', 'approval') }),
  fc.constant<Expected>({ outcome: 'none', also: ['page'] }),
  fc.constant<Expected>({ outcome: 'page', deniedBy: 'cooldown' }),
  fc.constant<Expected>({ outcome: 'page', cause: /orders-db/ }),
);

describe('judgeRun: whether a live diagnosis counts as right', () => {
  it('passes the right outcome from the model itself, and names each kind of miss', () => {
    // Prepare
    const page: Expected = { outcome: 'page', cause: /orders-db/ };

    // Act + Assess
    expect(judgeRun(run({ verdict: { recommendation: 'page', summary: 'orders-db is in recovery', rootCause: '' } }), page).verdict).toBe('pass');
    const blind = judgeRun(run({}), page);
    expect(blind.verdict).toBe('miss');
    expect(blind.why).toMatch(/cause not named/);
    expect(judgeRun(run({ verdict: undefined, fallbackReason: 'model diagnosis unavailable' }), { outcome: 'page' })).toMatchObject({ verdict: 'unavailable' });
    expect(judgeRun(run({ verdict: { recommendation: 'evict-pod', summary: '', rootCause: '' }, fallbackReason: 'downgraded' }), { outcome: 'page' })).toMatchObject({ verdict: 'miss', why: 'evict-pod downgraded to page by the cross-check' });
    // A "none" the cross-check turns into a page is still an abstention.
    expect(judgeRun(run({ verdict: { recommendation: 'none', summary: '', rootCause: '' }, fallbackReason: 'model recommended none, downgraded to page' }), { outcome: 'none', also: ['page'] }).verdict).toBe('pass');
    expect(judgeRun(run({ verdict: { recommendation: 'evict-pod', summary: '', rootCause: '' }, deniedBy: 'cooldown' }), { outcome: 'page', deniedBy: 'cooldown' }).verdict).toBe('pass');
    expect(judgeRun(run({ verdict: { recommendation: 'rollout-restart', summary: '', rootCause: '' }, deniedBy: 'still-unhealthy' }), { outcome: 'none', also: ['page'] }).verdict).toBe('miss');
  });

  it('never passes an outcome the row does not accept, nor a run without a model verdict; flags every action on a no-action row', () => {
    fc.assert(
      fc.property(arbRun, arbExpected, (r, e) => {
        // Act
        const j = judgeRun(r, e);

        // Assess
        const accepted = [e.outcome, ...(e.also ?? [])].includes(r.outcome);
        if (!accepted || r.verdict === undefined) expect(j.verdict).not.toBe('pass');
        const noActionRow = e.outcome === 'page' || e.outcome === 'none';
        expect(j.actedAgainstTable).toBe(noActionRow && r.outcome !== 'page' && r.outcome !== 'none');
      }),
      { numRuns: 500 },
    );
  });
});

describe('figuresOf', () => {
  it('adds up every run: counts, tokens, cost at the list price of the sums, look-ups per diagnosis', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { minLength: 1, maxLength: 30 }), arbExpected, (runs, e) => {
        // Act
        const judged = runs.map((r) => ({ run: r, judged: judgeRun(r, e) }));
        const f = figuresOf(judged, DEFAULT_MODEL_PRICES['claude-haiku-4-5']);

        // Assess
        const sum = (g: (r: LiveRun) => number) => runs.reduce((n, r) => n + g(r), 0);
        expect(f.diagnoses).toBe(runs.length);
        expect(f.passed + f.unavailable + judged.filter((j) => j.judged.verdict === 'miss').length).toBe(runs.length);
        expect(f.tokens).toEqual({
          input: sum((r) => r.usage?.inputTokens ?? 0),
          cacheWrite: sum((r) => r.usage?.cacheWriteTokens ?? 0),
          cacheRead: sum((r) => r.usage?.cacheReadTokens ?? 0),
          output: sum((r) => r.usage?.outputTokens ?? 0),
        });
        const each = sum((r) => costOf(r.usage ?? { inputTokens: 0, outputTokens: 0 }, 'claude-haiku-4-5') ?? 0);
        expect(f.costUsd).toBeCloseTo(each, 9);
        expect(f.lookupsPerDiagnosis).toBeCloseTo(sum((r) => r.lookups) / runs.length, 12);
        expect(Object.values(f.outcomes).reduce((a, b) => a + b, 0)).toBe(runs.length);
      }),
      { numRuns: 200 },
    );
  });

  it('has no cost without a price, never $0', () => {
    expect(figuresOf([{ run: run({ usage: { inputTokens: 10, outputTokens: 1 } }), judged: { verdict: 'pass', actedAgainstTable: false } }], undefined).costUsd).toBeUndefined();
  });
});
