/**
 * The benches that need a fresh process (alert to action, the storm) measure in a child and hand
 * their section back (bench/child.ts): the lines come back whole, from the child's side.
 */
import { describe, expect, it } from 'vitest';
import { section } from '../fixtures/bench-child.js';

describe('a bench measured in a child process', () => {
  it('returns the section lines the child measured, with the handlers\' logging quieted', async () => {
    // Act
    const lines = await section();

    // Assess
    expect(lines).toEqual(['measured in a child', 'measure flag: true', 'log level error']);
  }, 30_000);
});
