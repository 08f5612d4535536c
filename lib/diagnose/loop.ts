/**
 * The bounds of a model investigation, as one pure decision taken after each answered step that
 * asked for look-ups: run them and let the model continue, run them and make the next request the
 * last (only the verdict tool offered), answer them unread, or stop. Three bounds: a step count,
 * a total input-token budget (prompt tokens summed over every step, cached ones included), and
 * the deadline.
 */

export interface LoopBounds {
  /** Requests one diagnosis may take (answered ones; retries do not count). */
  readonly maxSteps: number;
  /** Prompt tokens (input + cache reads + cache writes) summed over all steps. */
  readonly maxInputTokens: number;
  /** A request with less time than this left is not started. */
  readonly minAttemptMs: number;
  /** Longest a round of look-ups may take. */
  readonly toolTimeoutMs: number;
  /** Upper bound of one tool result in bytes, for the token estimate. */
  readonly resultBytes: number;
}

export interface LoopProgress {
  readonly stepsDone: number;
  readonly inputTokensSpent: number;
  /** Prompt tokens of the last request (the next one repeats them and adds to them). */
  readonly lastPromptTokens: number;
  readonly lastOutputTokens: number;
  /** Look-ups the model asked for in the last answer. */
  readonly pendingCalls: number;
  readonly msLeft: number;
  /** How long the last request took: the best guess for the next. */
  readonly lastStepMs: number;
}

export type NextStep =
  | { readonly kind: 'investigate' }
  | { readonly kind: 'final'; readonly why: string }
  | { readonly kind: 'final-unread'; readonly why: string }
  | { readonly kind: 'stop'; readonly reason: 'over-budget' | 'timeout'; readonly why: string };

/**
 * Tokens are estimated from bytes at 3 bytes per token, fewer than English text or JSON has, so
 * the estimate errs high and the budget holds. Framing: our header, the block tags, the final note.
 */
const BYTES_PER_TOKEN = 3;
const RESULT_FRAMING_TOKENS = 120;
const UNREAD_RESULT_TOKENS = 40;
const FINAL_NOTE_TOKENS = 60;

/** An upper bound on the prompt of the next request, with the pending results read or unread. */
export function nextPromptEstimate(p: LoopProgress, resultBytes: number, unread = false): number {
  const perResult = unread ? UNREAD_RESULT_TOKENS : Math.ceil(resultBytes / BYTES_PER_TOKEN) + RESULT_FRAMING_TOKENS;
  return p.lastPromptTokens + p.lastOutputTokens + p.pendingCalls * perResult + FINAL_NOTE_TOKENS;
}

/** What to do with the look-ups the model just asked for. Pure. */
export function planNextStep(p: LoopProgress, b: LoopBounds): NextStep {
  if (p.msLeft < b.minAttemptMs) return { kind: 'stop', reason: 'timeout', why: `deadline reached after ${p.stepsDone} step(s)` };

  const withResults = nextPromptEstimate(p, b.resultBytes);
  if (p.inputTokensSpent + withResults > b.maxInputTokens) {
    const unread = nextPromptEstimate(p, b.resultBytes, true);
    if (p.inputTokensSpent + unread <= b.maxInputTokens) {
      return { kind: 'final-unread', why: `input-token budget: ${p.inputTokensSpent} of ${b.maxInputTokens} spent, no room for more results` };
    }
    return { kind: 'stop', reason: 'over-budget', why: `input-token budget: ${p.inputTokensSpent} of ${b.maxInputTokens} spent after ${p.stepsDone} step(s), no room for a final request` };
  }
  if (p.stepsDone + 1 >= b.maxSteps) return { kind: 'final', why: `step cap: request ${p.stepsDone + 1} of ${b.maxSteps}` };
  // Another round after the next needs at least as much again.
  if (p.inputTokensSpent + 2 * withResults > b.maxInputTokens) {
    return { kind: 'final', why: `input-token budget: ${p.inputTokensSpent} of ${b.maxInputTokens} spent, room for one more request` };
  }
  const perStepMs = Math.max(p.lastStepMs, b.minAttemptMs);
  if (p.msLeft < b.toolTimeoutMs + 2 * perStepMs) {
    return { kind: 'final', why: `deadline: ${p.msLeft} ms left, room for one more request` };
  }
  return { kind: 'investigate' };
}
