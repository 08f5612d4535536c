import { redact } from '../evidence/redact.js';
import { findInjectionMarkers } from '../evidence/injection.js';
import { truncateBytes } from '../evidence/budget.js';
import type { Investigator } from '../ports/investigator.js';
import { toolResultText } from './prompt.js';
import type { InvestigationScope } from './scope.js';
import { INVESTIGATION_LIMITS, INVESTIGATION_TOOL_NAMES, quote, toolNamed } from './tools.js';

/**
 * Runs the model's read-only investigation calls. The tools themselves are records in
 * lib/diagnose/tools.ts; this is the one path every call takes: an unknown tool, an input that
 * does not match its schema or an object outside the incident's scope is refused before any
 * cluster read, and every result is redacted, cut to a byte budget and wrapped as untrusted data
 * before it is sent.
 */

export { INVESTIGATION_LIMITS, INVESTIGATION_TOOL_NAMES, INVESTIGATION_TOOLS } from './tools.js';
export { resolveInScope, scopeOf, type InvestigationScope } from './scope.js';

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

export interface ToolOutcome {
  /** The tool_result content sent to the model. */
  readonly text: string;
  readonly isError: boolean;
  /** Whether the investigator was asked (false for every refusal). */
  readonly read: boolean;
  /** Instruction-like passages in what was read (cluster text, redacted), for policy. */
  readonly injectionMarkers?: readonly string[];
}

/** A refusal: our words only, no read happened. */
export function refusal(text: string): ToolOutcome {
  return { text: `refused: ${text}`, isError: true, read: false };
}

/** A call that passed the checks: what to tell the model it is, and how to read it. */
export interface PlannedRead {
  readonly header: string;
  readonly fetch: () => Promise<string>;
}

const isOutcome = (v: PlannedRead | ToolOutcome): v is ToolOutcome => 'isError' in v;

/** Checks a call against its tool's schema and the scope; returns what to read, or a refusal. Pure until fetch is called. */
export function planToolCall(call: ToolCall, scope: InvestigationScope, investigator: Investigator, resultBytes: number): PlannedRead | ToolOutcome {
  const tool = toolNamed(call.name);
  if (!tool) return refusal(`there is no tool ${quote(call.name)}; the investigation tools are ${INVESTIGATION_TOOL_NAMES.join(', ')}`);
  const plan = tool.plan(call.input, scope);
  if ('issues' in plan) return refusal(`input does not match the ${call.name} schema: ${quote(plan.issues.join('; '))}`);
  if ('refused' in plan) return refusal(plan.refused);
  return { header: plan.header, fetch: () => plan.run(investigator, { resultBytes }) };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs one investigation call: refuses it (no read) or reads, then redacts, cuts to `resultBytes`
 * and wraps the text as untrusted data. Never throws: a failed read is an error result the model
 * can read. The read is abandoned after `timeoutMs` (the request itself may finish later unseen).
 */
export async function runToolCall(
  call: ToolCall,
  scope: InvestigationScope,
  investigator: Investigator,
  options: { readonly timeoutMs: number; readonly resultBytes?: number },
): Promise<ToolOutcome> {
  const resultBytes = options.resultBytes ?? INVESTIGATION_LIMITS.resultBytes;
  const planned = planToolCall(call, scope, investigator, resultBytes);
  if (isOutcome(planned)) return planned;
  try {
    const body = truncateBytes(redact(await withTimeout(planned.fetch(), Math.max(1, options.timeoutMs))), resultBytes);
    return { text: toolResultText(call.name, planned.header, body), isError: false, read: true, ...markersIn(body) };
  } catch (error) {
    // API errors quote object names and server text: treat them as cluster text too.
    const message = truncateBytes(redact(error instanceof Error ? error.message : String(error)), 600);
    return { text: toolResultText(call.name, `Could not read (${call.name}):`, message), isError: true, read: true, ...markersIn(message) };
  }
}

/** Only the cluster text is scanned: the wrapper around it is ours. */
function markersIn(clusterText: string): { injectionMarkers?: readonly string[] } {
  const found = findInjectionMarkers([clusterText]);
  return found.length > 0 ? { injectionMarkers: found } : {};
}

/** The answer to a look-up that is not made (budget, deadline, per-step cap): our words, no read. */
export const notRun = (why: string): ToolOutcome => ({ text: `not run: ${why}`, isError: true, read: false });

/** The look-ups of one step, at most callsPerStep of them, in parallel, within the time left. */
export async function runCalls(calls: readonly ToolCall[], scope: InvestigationScope, investigator: Investigator, timeoutMs: number, resultBytes: number): Promise<ToolOutcome[]> {
  const cap = INVESTIGATION_LIMITS.callsPerStep;
  if (timeoutMs < 1) return calls.map(() => notRun('no time left before the deadline'));
  return Promise.all(
    calls.map((call, i) =>
      i < cap ? runToolCall(call, scope, investigator, { timeoutMs, resultBytes }) : Promise.resolve(notRun(`at most ${cap} look-ups per step`)),
    ),
  );
}
