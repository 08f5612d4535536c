import { createHash, type Hash } from 'node:crypto';
import type { Diagnosis } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import type { ModelTokens } from '../ports/model-client.js';
import { costOf, type ModelPrices } from './cost.js';
import type { ToolCall, ToolOutcome } from './investigation.js';

/**
 * What one diagnosis has spent, over every step and attempt, and what the audit keeps of it:
 * tokens and cost, a digest of every request body sent, and the look-ups the model asked for.
 */

type Usage = NonNullable<Diagnosis['usage']>;

export interface Spend {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  requests: number;
  steps: number;
  /** Prompt tokens of every step for the input-token budget (estimated for an answer without usage). */
  budgetPrompt: number;
  /** Prompt tokens (input + cache) of the last answered request, and its output. */
  lastPrompt: number;
  lastOutput: number;
  /** Length of the last request body sent: the estimate's basis for an answer without usage. */
  lastBodyLength: number;
  /** SHA-256 over every request body sent, in order: the audit's proof of what left the cluster. */
  sent: Hash;
  /** What the model asked to look at, and whether it was read, for the audit (bounded). */
  lookups: string[];
}

export const newSpend = (): Spend => ({
  input: 0, output: 0, cacheRead: 0, cacheWrite: 0, requests: 0, steps: 0, budgetPrompt: 0, lastPrompt: 0, lastOutput: 0, lastBodyLength: 0, sent: createHash('sha256'), lookups: [],
});

/** A request body as it is sent, every attempt included. */
export function addRequest(spend: Spend, body: string): void {
  spend.requests += 1;
  spend.sent.update(body).update('\n');
  spend.lastBodyLength = body.length;
}

/**
 * Adds an answered request. Usage is reported as the API gave it; an answer without usage is
 * estimated from the request's length for the budget only, so the budget still holds.
 */
export function addStep(spend: Spend, usage: ModelTokens | undefined, requestBytes: number): void {
  const prompt = usage ? usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0) : Math.ceil(requestBytes / 3);
  spend.steps += 1;
  spend.input += usage?.inputTokens ?? 0;
  spend.output += usage?.outputTokens ?? 0;
  spend.cacheRead += usage?.cacheReadTokens ?? 0;
  spend.cacheWrite += usage?.cacheWriteTokens ?? 0;
  spend.budgetPrompt += prompt;
  spend.lastPrompt = prompt;
  spend.lastOutput = usage?.outputTokens ?? 0;
}

export function usageFrom(spend: Spend, model: string, prices: ModelPrices): Usage {
  const tokens = { inputTokens: spend.input, outputTokens: spend.output, cacheReadTokens: spend.cacheRead, cacheWriteTokens: spend.cacheWrite };
  const costUsd = costOf(tokens, model, prices);
  return {
    ...tokens,
    requests: spend.requests,
    steps: spend.steps,
    ...(costUsd !== undefined ? { costUsd } : {}),
    ...(spend.requests > 0 ? { requestDigest: `sha256:${spend.sent.copy().digest('hex')}` } : {}),
    ...(spend.lookups.length > 0 ? { lookups: [...spend.lookups] } : {}),
  };
}

/** Look-ups kept for the audit, and the length of each line. */
export const LOOKUP_AUDIT = { entries: 20, chars: 200 } as const;

/** "more_logs {"container":"app"}: read" (redacted, bounded): the model's own words are untrusted. */
export function lookupLine(call: ToolCall, outcome: ToolOutcome): string {
  const input = JSON.stringify(call.input) ?? '';
  const line = `${call.name} ${input}: ${outcome.read ? (outcome.isError ? 'read failed' : 'read') : 'not read'}`;
  return redact(line.length > LOOKUP_AUDIT.chars ? `${line.slice(0, LOOKUP_AUDIT.chars)}…` : line);
}

/** Records the look-ups of one step for the audit, up to LOOKUP_AUDIT.entries. */
export function addLookups(spend: Spend, calls: readonly ToolCall[], outcomes: readonly (ToolOutcome | undefined)[]): void {
  calls.forEach((call, i) => {
    const outcome = outcomes[i];
    if (outcome && spend.lookups.length < LOOKUP_AUDIT.entries) spend.lookups.push(lookupLine(call, outcome));
  });
}
