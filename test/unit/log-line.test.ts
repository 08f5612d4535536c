import { afterEach, describe, expect, it, vi } from 'vitest';
import { log, redactedFields, setLogContext } from '../../lib/wiring/middleware.js';

const GITHUB_TOKEN = `ghp_${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'}`;
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

/** The lines log() writes to stdout during `act`, parsed. */
function linesOf(act: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('a log line', () => {
  afterEach(() => setLogContext({}));

  it('redacts what came from outside: a field value, a value under a secret-named field, a nested key', () => {
    // Act
    const [line] = linesOf(() => log('info', 'alert skipped', { reason: `label holds ${GITHUB_TOKEN}`, dbPassword: 'x7', skippedByReason: { [AWS_KEY]: 1 } }));

    // Assess
    const text = JSON.stringify(line);
    expect(text).not.toContain(GITHUB_TOKEN.slice(0, 12));
    expect(text).not.toContain(AWS_KEY);
    expect(line?.dbPassword).not.toBe('x7');
    expect(line?.reason).toMatch(/^label holds \[REDACTED/);
  });

  it('redacts a top-level field name not on its own list, whatever its value, even one that looks like code', () => {
    // Prepare: a Databricks-shaped token is lower case and digits, as a camelCase name could be
    const databricks = `dapi${'0123456789abcdef'.repeat(2)}`;

    // Act
    const fields = redactedFields({ [AWS_KEY]: 1, [`${GITHUB_TOKEN}`]: true, 'x-api-key': null, [databricks]: 3 });

    // Assess
    expect(JSON.stringify(fields)).not.toMatch(new RegExp(`${AWS_KEY}|${GITHUB_TOKEN.slice(0, 12)}|${databricks}`));
    expect(Object.keys(fields)).toHaveLength(4);
  });

  it("keeps the healer's own words as written: level, message, invocation context, numeric fields of its own", () => {
    // Prepare
    setLogContext({ function: 'k8s-healer-prod-webhook', requestId: 'c0ffee-1', coldStart: true });

    // Act
    const [line] = linesOf(() => log('warn', 'webhook handled', { statusCode: 401, received: 0, duplicates: 2 }));

    // Assess
    expect(line).toMatchObject({ level: 'warn', message: 'webhook handled', function: 'k8s-healer-prod-webhook', requestId: 'c0ffee-1', coldStart: true, statusCode: 401, received: 0, duplicates: 2 });
    expect(line?.at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
  });
});
