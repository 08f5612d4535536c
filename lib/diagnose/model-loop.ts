import type { Diagnosis, Evidence, Incident } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { systemClock, type Clock, type DiagnoseOptions, type Diagnoser } from '../ports/index.js';
import type { Investigator } from '../ports/investigator.js';
import { ModelFailure, type ModelBlock, type ModelClient, type ModelFailureKind, type ModelMessage, type ModelStep, type ModelTurn } from '../ports/model-client.js';
import { DEFAULT_MODEL_PRICES, type ModelPrices } from './cost.js';
import { notRun, runCalls, type ToolCall } from './investigation.js';
import { planNextStep, type LoopBounds } from './loop.js';
import { buildPrompt, FINAL_STEP_NOTE, INVESTIGATION_PROMPT, SYSTEM_PROMPT, VERDICT_TOOL_NAME } from './prompt.js';
import { scopeOf } from './scope.js';
import { addLookups, addRequest, addStep, newSpend, usageFrom } from './spend.js';
import { INVESTIGATION_LIMITS, INVESTIGATION_TOOLS, VERDICT_TOOL } from './tools.js';
import { validateVerdict } from './verdict.js';

/**
 * A diagnosis by a model, in the shape of HolmesGPT's tool-calling loop: without an Investigator,
 * one step offering only submit_verdict; with one, a bounded investigation in which the model may
 * call the read-only tools of lib/diagnose/tools.ts for a few steps before its verdict, and the
 * last permitted step offers only submit_verdict. planNextStep (lib/diagnose/loop.ts) decides
 * after each step; the answer is validated by code before anyone sees it. Tokens, cost, the
 * digest of every request body and the look-ups are summed here for the audit. The model is a
 * port (lib/ports/model-client.ts): the loop never sees an SDK.
 */

export type UnavailableReason = ModelFailureKind | 'refusal' | 'no-verdict' | 'rejected' | 'over-budget';

export class DiagnosisUnavailable extends Error {
  override readonly name = 'DiagnosisUnavailable';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    readonly details: {
      /** Requests sent in the whole diagnosis, retries included. */
      readonly attempts: number;
      readonly status?: number;
      readonly requestId?: string;
      /** Tokens already spent when the answer was refused, for cost accounting. */
      readonly usage?: Diagnosis['usage'];
      readonly model?: string;
    } = { attempts: 0 },
    options?: ErrorOptions,
  ) {
    super(`${reason}: ${message}`, options);
  }
}

export interface ModelLoopOptions {
  /** Upper bound for one diagnose() call, retries included; a caller's earlier deadline wins. */
  readonly timeoutMs: number;
  /** Read-only look-ups the model may make before its verdict; without one the diagnosis is a single step. */
  readonly investigator?: Investigator | undefined;
  /** Answered requests one diagnosis may take, the verdict's included. */
  readonly maxSteps?: number;
  /** Prompt tokens (input + cache reads + cache writes) summed over all steps. */
  readonly maxInputTokens?: number;
  /** A request with less time than this left is not started. */
  readonly minAttemptMs?: number;
  /** USD per MTok by model, for Diagnosis.usage.costUsd. */
  readonly prices?: ModelPrices;
  /** Longest one round of look-ups may take. */
  readonly toolTimeoutMs?: number;
  /** Bytes of cluster text in one look-up result. */
  readonly toolResultBytes?: number;
  readonly clock?: Clock;
}

export const LOOP_DEFAULTS = { maxSteps: 4, maxInputTokens: 60_000, minAttemptMs: 500 } as const;

/** Slack between the end of the look-ups and the next request's own minimum time. */
const TOOL_MARGIN_MS = 50;

/**
 * What one step offers. The system prompt and tools are static, so they are prompt-cached; the
 * final step offers only submit_verdict and must call it. Pure.
 */
export function stepShape(investigating: boolean, final: boolean): Omit<ModelStep, 'messages'> {
  return {
    system: investigating ? [SYSTEM_PROMPT, INVESTIGATION_PROMPT] : [SYSTEM_PROMPT],
    tools: investigating && !final ? [...INVESTIGATION_TOOLS, VERDICT_TOOL] : [VERDICT_TOOL],
    mustCall: final ? VERDICT_TOOL_NAME : undefined,
    continues: investigating && !final,
  };
}

const toolResult = (id: string, outcome: { text: string; isError: boolean }): ModelBlock => ({
  type: 'tool_result',
  tool_use_id: id,
  content: outcome.text,
  ...(outcome.isError ? { is_error: true as const } : {}),
});

export function createModelDiagnoser(client: ModelClient, options: ModelLoopOptions): Diagnoser {
  const clock = options.clock ?? systemClock;
  const prices = options.prices ?? DEFAULT_MODEL_PRICES;
  const investigator = options.investigator;
  const maxSteps = Math.max(1, Math.floor(options.maxSteps ?? LOOP_DEFAULTS.maxSteps));
  const investigating = investigator !== undefined && maxSteps > 1;
  const minAttemptMs = options.minAttemptMs ?? LOOP_DEFAULTS.minAttemptMs;
  const bounds: LoopBounds = {
    maxSteps,
    maxInputTokens: options.maxInputTokens ?? LOOP_DEFAULTS.maxInputTokens,
    minAttemptMs,
    toolTimeoutMs: options.toolTimeoutMs ?? INVESTIGATION_LIMITS.toolTimeoutMs,
    resultBytes: options.toolResultBytes ?? INVESTIGATION_LIMITS.resultBytes,
  };
  const model = client.model;

  async function diagnose(incident: Incident, evidence: Evidence, callOptions: DiagnoseOptions = {}): Promise<Diagnosis> {
    const start = clock.now();
    const deadline = Math.min(start + options.timeoutMs, callOptions.deadline ?? Number.POSITIVE_INFINITY);
    const spend = newSpend();
    const details = (extra: { status?: number; requestId?: string } = {}): DiagnosisUnavailable['details'] => ({
      attempts: spend.requests,
      model,
      ...extra,
      ...(spend.requests > 0 ? { usage: usageFrom(spend, model, prices) } : {}),
    });
    const session = client.open({
      startedAt: start,
      deadline,
      signal: callOptions.signal,
      sent: (body) => addRequest(spend, body),
      requests: () => spend.requests,
      steps: () => spend.steps,
    });

    /** One step through the port; its failures become DiagnosisUnavailable with what was spent. */
    async function step(final: boolean, messages: readonly ModelTurn[]): Promise<ModelMessage> {
      try {
        return await session.step({ ...stepShape(investigating, final), messages: redactedUserTurns(messages) });
      } catch (err) {
        if (!(err instanceof ModelFailure)) throw err;
        throw new DiagnosisUnavailable(err.kind, err.message, details({
          ...(err.status !== undefined ? { status: err.status } : {}),
          ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
        }));
      }
    }

    const prompt = buildPrompt(incident, evidence, investigating ? { investigation: { maxSteps } } : {});
    // A block, not a string, while investigating: the moving cache breakpoint needs somewhere to sit.
    const messages: ModelTurn[] = [{ role: 'user', content: investigating ? [{ type: 'text', text: prompt.user }] : prompt.user }];
    const scope = scopeOf(evidence);
    // Instruction-like text the look-ups brought back: the evidence's own is the pipeline's to find.
    const markers: string[] = [];
    let final = !investigating;
    for (;;) {
      const stepStart = clock.now();
      const message = await step(final, messages);
      const stepMs = clock.now() - stepStart;
      addStep(spend, message.usage, spend.lastBodyLength);
      if (message.stopReason === 'refusal') throw new DiagnosisUnavailable('refusal', 'the model declined to answer', details());

      // Select by type: thinking blocks may come first on models with adaptive thinking.
      const toolUses = message.content.filter((b): b is Extract<ModelBlock, { type: 'tool_use' }> => b.type === 'tool_use');
      if (final || toolUses.length === 0 || toolUses.some((t) => t.name === VERDICT_TOOL_NAME)) {
        return withMarkers(interpret(message, evidence, details()), markers);
      }
      if (!investigator) throw new Error('unreachable: a step without an investigator is always final');

      const calls: ToolCall[] = toolUses.map((t) => ({ id: t.id, name: t.name, input: t.input }));
      const plan = planNextStep({
        stepsDone: spend.steps,
        inputTokensSpent: spend.budgetPrompt,
        lastPromptTokens: spend.lastPrompt,
        lastOutputTokens: spend.lastOutput,
        pendingCalls: calls.length,
        msLeft: deadline - clock.now(),
        lastStepMs: stepMs,
      }, bounds);
      if (plan.kind === 'stop') throw new DiagnosisUnavailable(plan.reason, plan.why, details());
      const outcomes = plan.kind === 'final-unread'
        ? calls.map(() => notRun(plan.why))
        // Look-ups leave time for the request after them (as long as the last one took, at least minAttemptMs).
        : await runCalls(calls, scope, investigator, Math.min(bounds.toolTimeoutMs, deadline - clock.now() - Math.max(minAttemptMs, stepMs) - TOOL_MARGIN_MS), bounds.resultBytes);
      addLookups(spend, calls, outcomes);
      for (const marker of outcomes.flatMap((o) => o.injectionMarkers ?? [])) if (!markers.includes(marker)) markers.push(marker);
      final = plan.kind !== 'investigate';
      messages.push({ role: 'assistant', content: message.content });
      messages.push({
        role: 'user',
        content: [
          ...calls.map((c, i) => toolResult(c.id, outcomes[i] ?? notRun('no result'))),
          ...(final ? [{ type: 'text' as const, text: FINAL_STEP_NOTE }] : []),
        ],
      });
    }
  }

  function interpret(message: ModelMessage, evidence: Evidence, spent: DiagnosisUnavailable['details']): Diagnosis {
    const calls = message.content.filter(
      (block): block is Extract<ModelBlock, { type: 'tool_use' }> => block.type === 'tool_use' && block.name === VERDICT_TOOL_NAME,
    );
    if (calls.length !== 1) {
      throw new DiagnosisUnavailable(
        'no-verdict',
        `expected one ${VERDICT_TOOL_NAME} call, got ${calls.length} (stop_reason ${String(message.stopReason)}, step ${spent.usage?.steps ?? '?'})`,
        spent,
      );
    }
    const result = validateVerdict(calls[0]?.input, evidence);
    if (!result.ok) throw new DiagnosisUnavailable('rejected', `model verdict refused by validation: ${result.reason}`, spent);
    return { ...result.diagnosis, model, ...(spent.usage ? { usage: spent.usage } : {}) };
  }

  return { diagnose };
}

/**
 * The model is an exit, whichever client carries the request: what the user side sends (the
 * prompt, every tool result) passes the one redaction step here, as the loop hands it over.
 * Redaction is idempotent, so the conversation's prefix stays byte-identical from step to step
 * (the prompt cache still hits). The model's own turns go back as they came.
 */
export function redactedUserTurns(messages: readonly ModelTurn[]): ModelTurn[] {
  return messages.map((m) => {
    if (m.role !== 'user') return m;
    if (typeof m.content === 'string') return { ...m, content: redact(m.content) };
    return {
      ...m,
      content: m.content.map((b) => (b.type === 'text' ? { ...b, text: redact(b.text) } : b.type === 'tool_result' ? { ...b, content: redact(b.content) } : b)),
    };
  });
}

function withMarkers(diagnosis: Diagnosis, markers: readonly string[]): Diagnosis {
  return markers.length > 0 ? { ...diagnosis, injectionMarkers: markers.slice(0, MAX_LOOKUP_MARKERS) } : diagnosis;
}

/** As many as the evidence's own scan keeps (lib/evidence/injection.ts): enough to show a human. */
const MAX_LOOKUP_MARKERS = 5;
