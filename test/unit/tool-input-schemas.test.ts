import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verdictJsonSchema } from '../../lib/diagnose/verdict.js';
import { INVESTIGATION_TOOLS } from '../../lib/diagnose/investigation.js';

/**
 * The JSON schemas the model is sent (submit_verdict's and the investigation tools' input_schema),
 * byte for byte as they were generated from the classic zod schemas. They are part of the cached
 * prompt and what the model reads: a change in how the schemas are written must not change them
 * by accident. After a deliberate change, regenerate the fixture and review its diff.
 */
const fixture = readFileSync(new URL('../fixtures/tool-input-schemas.json', import.meta.url), 'utf8');

describe('tool input schemas sent to the model', () => {
  it('are byte-identical to the reviewed fixture', () => {
    const now = JSON.stringify({ verdict: verdictJsonSchema, tools: INVESTIGATION_TOOLS.map((t) => ({ name: t.name, input_schema: t.input_schema })) }, null, 2) + '\n';
    expect(now).toBe(fixture);
  });
});
