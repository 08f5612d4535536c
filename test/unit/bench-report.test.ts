import { describe, expect, it } from 'vitest';
import { withSection } from '../../bench/report.js';
import { median, percentile } from '../../bench/stats.js';

describe('the benchmark report', () => {
  const doc = ['# Benchmarks', '', 'Intro.', '', '## Older section', '', 'old figures', ''].join('\n');

  it('puts a dated section with the machine above the older sections', () => {
    const out = withSection(doc, '2026-12-05', '2 × CPU', ['- a figure']);
    expect(out.indexOf('## `npm run bench` (2026-12-05)')).toBeGreaterThan(out.indexOf('Intro.'));
    expect(out.indexOf('## `npm run bench` (2026-12-05)')).toBeLessThan(out.indexOf('## Older section'));
    expect(out).toContain('Machine: 2 × CPU.');
    expect(out).toContain('old figures');
  });

  it('replaces the same day\'s section on a second run, and keeps other days', () => {
    const once = withSection(doc, '2026-12-04', 'm', ['- day one']);
    const twice = withSection(withSection(once, '2026-12-05', 'm', ['- first run']), '2026-12-05', 'm', ['- second run']);
    expect(twice).not.toContain('first run');
    expect(twice).toContain('second run');
    expect(twice).toContain('day one');
    expect(twice.match(/## `npm run bench` \(2026-12-05\)/g)).toHaveLength(1);
  });
});

describe('percentiles (nearest rank)', () => {
  it('picks ranks from a sorted copy, without changing the input', () => {
    const values = [5, 1, 4, 2, 3];
    expect([percentile(values, 50), percentile(values, 99), percentile(values, 0), median([2, 1])]).toEqual([3, 5, 1, 1]);
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(percentile([], 50)).toBeNaN();
    expect(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 95)).toBe(19);
  });
});
