import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mean, percentile } from '../../eval/stats.js';

/** The defining property of a nearest-rank percentile, counted in integers (no float rounding). */
const atLeastShareBelow = (values: readonly number[], p: number, r: number): boolean =>
  values.filter((v) => v <= r).length * 100 >= p * values.length && values.filter((v) => v < r).length * 100 < p * values.length;

describe('percentile (nearest rank)', () => {
  it('matches the worked example of the nearest-rank method', () => {
    // Prepare: the five-value example used to define the method
    const values = [15, 20, 35, 40, 50];

    // Act
    const got = [5, 30, 40, 50, 100].map((p) => percentile(values, p));

    // Assess
    expect(got).toEqual([15, 20, 20, 35, 50]);
  });

  it('p95 of 20 values is the 19th, not the 20th (p * n computed before dividing)', () => {
    // Prepare
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);

    // Act + Assess
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 50)).toBe(10);
  });

  it('is undefined for no values and refuses percentiles outside (0, 100]', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(RangeError);
  });

  it('is a measured value with at least p% of the values at or below it and fewer than p% below it, whatever the order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 100 }), (values, p) => {
        // Act
        const r = percentile(values, p);

        // Assess
        expect(r).toBeDefined();
        expect(values).toContain(r);
        expect(atLeastShareBelow(values, p, r ?? Number.NaN)).toBe(true);
        expect(percentile([...values].reverse(), p)).toBe(r);
      }),
      { numRuns: 300 },
    );
  });

  it('never decreases as p grows, and p100 is the maximum', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 99 }), (values, p) => {
        expect(percentile(values, p) ?? 0).toBeLessThanOrEqual(percentile(values, p + 1) ?? 0);
        expect(percentile(values, 100)).toBe(Math.max(...values));
      }),
      { numRuns: 200 },
    );
  });
});

describe('mean', () => {
  it('is the sum over the count, undefined for none', () => {
    expect(mean([])).toBeUndefined();
    expect(mean([1, 2, 6])).toBe(3);
  });
});
