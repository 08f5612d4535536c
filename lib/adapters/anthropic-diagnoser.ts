import { createHash, type Hash } from 'node:crypto';
import { redact } from '../evidence/redact.js';
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealerConfig } from '../config/config.js';
import type { Diagnosis, Evidence, Incident } from '../domain/types.js';
import { costOf, DEFAULT_MODEL_PRICES, type ModelPrices } from '../diagnose/cost.js';
import { INVESTIGATION_LIMITS, INVESTIGATION_TOOLS, runToolCall, scopeOf, type InvestigationScope, type ToolCall, type ToolOutcome } from '../diagnose/investigation.js';
import { planNextStep, type LoopBounds } from '../diagnose/loop.js';
import { buildPrompt, FINAL_STEP_NOTE, INVESTIGATION_PROMPT, SYSTEM_PROMPT, VERDICT_TOOL_NAME } from '../diagnose/prompt.js';
import { validateVerdict, verdictJsonSchema } from '../diagnose/verdict.js';
import { systemClock, type Clock, type DiagnoseOptions, type Diagnoser } from '../ports/index.js';
import type { Investigator } from '../ports/investigator.js';

/**
 * Diagnosis by Claude through the real SDK. Without an Investigator: one request with one tool
 * (submit_verdict). With one: a bounded investigation, in which the model may call read-only
 * look-up tools (lib/diagnose/investigation.ts) for a few steps before its verdict; the last
 * permitted step offers only submit_verdict. Either way the answer is validated by code before
 * anyone sees it. The SDK's own retries are off (it honours retry-after without a cap): this
 * adapter retries each step itself, with capped backoff, inside one deadline for the whole
 * diagnosis. Tokens and cost are summed over every step.
 */

export type UnavailableReason =
  | 'rate-limited'
  | 'overloaded'
  | 'server-error'
  | 'timeout'
  | 'transport'
  | 'bad-response'
  | 'bad-request'
  | 'auth'
  | 'aborted'
  | 'refusal'
  | 'no-verdict'
  | 'rejected'
  | 'over-budget';

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

export interface AnthropicDiagnoserOptions {
  readonly apiKey: string;
  readonly baseURL?: string | undefined;
  readonly model: string;
  /** Upper bound for one diagnose() call, retries included; a caller's earlier deadline wins. */
  readonly timeoutMs: number;
  /** Retries after the first attempt (HEALER_MODEL_MAX_RETRIES). */
  readonly maxRetries: number;
  readonly maxTokens?: number;
  /** Longest wait between attempts. A retry-after above it means give up now, not wait. */
  readonly maxBackoffMs?: number;
  readonly baseBackoffMs?: number;
  /** An attempt with less time than this left is not started. */
  readonly minAttemptMs?: number;
  /** 'forced' = tool_choice {type:'tool'}; default depends on the model (see supportsForcedToolChoice). */
  readonly toolChoice?: 'forced' | 'auto';
  /** output_config.effort; default from defaultEffort(model), null to never send it. */
  readonly effort?: Effort | null;
  /** Read-only look-ups the model may make before its verdict; without one the diagnosis is a single request. */
  readonly investigator?: Investigator | undefined;
  /** Answered requests one diagnosis may take, the verdict's included (HEALER_MODEL_MAX_STEPS). */
  readonly maxSteps?: number;
  /** Prompt tokens (input + cache reads + cache writes) summed over all steps (HEALER_MODEL_MAX_INPUT_TOKENS). */
  readonly maxInputTokens?: number;
  /** USD per MTok by model, for Diagnosis.usage.costUsd (HEALER_MODEL_PRICES over the defaults). */
  readonly prices?: ModelPrices;
  /** Longest one round of look-ups may take. */
  readonly toolTimeoutMs?: number;
  /** Bytes of cluster text in one look-up result. */
  readonly toolResultBytes?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
}

// Thinking tokens count against max_tokens on adaptive-thinking models: leave room for the tool call.
const DEFAULTS = { maxTokens: 8192, maxBackoffMs: 2000, baseBackoffMs: 250, minAttemptMs: 500, maxSteps: 4, maxInputTokens: 60_000 } as const;

export type Effort = 'low' | 'medium' | 'high';

/**
 * The 5.x models think adaptively by default at effort high (Sonnet 5.5's API default); a
 * diagnosis inside a Lambda deadline does not need that. Older models get no effort parameter.
 */
const EFFORT_FAMILIES = /^claude-(?:(?:sonnet|opus|haiku)-5-[5-9]|sonnet-5|opus-5|(?:fable|mythos)-5)(?:$|[-@])/;
export function defaultEffort(model: string): Effort | undefined {
  return EFFORT_FAMILIES.test(model) ? 'medium' : undefined;
}

/**
 * Claude Sonnet 5.5, Opus 5.5 and Fable/Mythos 5.1+ answer a forced tool_choice with a 400
 * (platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5). For those the tool is
 * offered with tool_choice auto and the prompt requires it; an answer without it is refused.
 */
const FORCING_REJECTED = /^claude-(?:sonnet-5-[5-9]|opus-5-[5-9]|(?:fable|mythos)-5-[1-9])(?:$|[-@])/;
export function supportsForcedToolChoice(model: string): boolean {
  return !FORCING_REJECTED.test(model);
}

const TOOL_DESCRIPTION =
  'Submit your diagnosis of the incident. Call exactly once. The input is validated by code: a ' +
  'recommendation outside the allowed list, or a target outside the allowed targets, is rejected.';

type Usage = NonNullable<Diagnosis['usage']>;

interface AttemptFailure {
  readonly reason: UnavailableReason;
  readonly retryable: boolean;
  readonly message: string;
  readonly status?: number;
  readonly requestId?: string;
  readonly retryAfterMs?: number;
  readonly toolChoiceRefused?: boolean;
}

/** retry-after-ms, then retry-after as seconds or an HTTP date. */
function retryAfterMs(headers: Headers | undefined, now: number): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number.parseFloat(ms))) return Math.max(0, Number.parseFloat(ms));
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  const seconds = Number.parseFloat(ra);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function classify(err: unknown, now: number): AttemptFailure {
  if (err instanceof APIUserAbortError) return { reason: 'aborted', retryable: false, message: 'request aborted by the caller' };
  if (err instanceof APIConnectionTimeoutError) return { reason: 'timeout', retryable: true, message: 'request timed out' };
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { reason: 'transport', retryable: true, message: `connection failed${cause}` };
  }
  if (err instanceof APIError) {
    return classifyApiError(err as APIError<number | undefined, Headers | undefined>, now);
  }
  // Anything else came from reading the response (e.g. a 200 whose body is not JSON).
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { reason: 'bad-response', retryable: false, message: message.slice(0, 200) };
}

function classifyApiError(err: APIError<number | undefined, Headers | undefined>, now: number): AttemptFailure {
  const status = err.status ?? 0;
  const base = {
    status,
    ...(err.requestID ? { requestId: err.requestID } : {}),
    message: `HTTP ${status} ${err.type ?? ''} ${err.apiMessage ?? ''}`.replace(/\s+/g, ' ').trim(),
  };
  const shouldRetry = err.headers?.get('x-should-retry');
  const retryAfter = retryAfterMs(err.headers, now);
  const transient = (reason: UnavailableReason): AttemptFailure => ({
    ...base,
    reason,
    retryable: shouldRetry !== 'false',
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
  });
  if (status === 429) return transient('rate-limited');
  if (status === 529) return transient('overloaded');
  if (status === 408 || status === 409 || status >= 500) return transient('server-error');
  if (status === 401 || status === 403) return { ...base, reason: 'auth', retryable: false };
  const toolChoiceRefused = status === 400 && /tool_choice|forc(ed|es) tool/i.test(err.apiMessage ?? err.message);
  return { ...base, reason: 'bad-request', retryable: false, toolChoiceRefused };
}

/** Token counts of one answered request, as the API reported them. */
function usageOf(message: Anthropic.Message): Pick<Usage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'> | undefined {
  const u = message.usage as Partial<Anthropic.Usage> | undefined;
  if (!u || typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') return undefined;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    ...(typeof u.cache_read_input_tokens === 'number' ? { cacheReadTokens: u.cache_read_input_tokens } : {}),
    ...(typeof u.cache_creation_input_tokens === 'number' ? { cacheWriteTokens: u.cache_creation_input_tokens } : {}),
  };
}

/** What one diagnosis has spent so far, over every step and attempt. */
interface Spend {
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
  /** SHA-256 over every request body sent, in order: the audit's proof of what left the cluster. */
  sent: Hash;
  /** What the model asked to look at, and whether it was read, for the audit (bounded). */
  lookups: string[];
}

const newSpend = (): Spend => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, requests: 0, steps: 0, budgetPrompt: 0, lastPrompt: 0, lastOutput: 0, sent: createHash('sha256'), lookups: [] });

/** Look-ups kept for the audit, and the length of each line. */
const LOOKUP_AUDIT = { entries: 20, chars: 200 } as const;

/** "more_logs {"container":"app"}: read" (redacted, bounded): the model's own words are untrusted. */
function lookupLine(call: ToolCall, outcome: ToolOutcome): string {
  const input = JSON.stringify(call.input) ?? '';
  const line = `${call.name} ${input}: ${outcome.read ? (outcome.isError ? 'read failed' : 'read') : 'not read'}`;
  return redact(line.length > LOOKUP_AUDIT.chars ? `${line.slice(0, LOOKUP_AUDIT.chars)}…` : line);
}

/**
 * Adds an answered request. Usage is reported as the API gave it; an answer without usage is
 * estimated from the request's bytes for the budget only, so the budget still holds.
 */
function addStep(spend: Spend, usage: ReturnType<typeof usageOf>, requestBytes: number): void {
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

function usageFrom(spend: Spend, model: string, prices: ModelPrices): Usage {
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

const EPHEMERAL = { type: 'ephemeral' } as const;
/** Slack between the end of the look-ups and the next request's own minimum time. */
const TOOL_MARGIN_MS = 50;

export interface StepRequest {
  readonly model: string;
  readonly maxTokens: number;
  readonly effort?: Effort | undefined;
  /** tool_choice forcing a tool call; off for models that refuse it. */
  readonly forced: boolean;
  /** Investigation tools exist in this diagnosis (changes the system prompt and the cache breakpoints). */
  readonly investigating: boolean;
  /** The last permitted step: only submit_verdict is offered. */
  readonly final: boolean;
  readonly messages: readonly Anthropic.MessageParam[];
}

/**
 * The request is an exit: what the user side sends (the prompt's text, every tool_result) passes
 * through the redaction step once more here, whoever built it. Redaction is deterministic and
 * idempotent, so the prefix of a conversation stays byte-identical from step to step (the prompt
 * cache still hits). The model's own turns go back unmodified: the API refuses changed thinking
 * blocks, and the model only ever saw redacted text.
 */
function redactedUserTurns(messages: readonly Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  return messages.map((m) => {
    if (m.role !== 'user') return m;
    if (typeof m.content === 'string') return { ...m, content: redact(m.content) };
    return { ...m, content: m.content.map(redactedBlock) };
  });
}

function redactedBlock(block: Anthropic.ContentBlockParam): Anthropic.ContentBlockParam {
  if (block.type === 'text') return { ...block, text: redact(block.text) };
  if (block.type !== 'tool_result') return block;
  const content = block.content;
  if (typeof content === 'string') return { ...block, content: redact(content) };
  if (content === undefined) return block;
  return { ...block, content: content.map((c) => (c.type === 'text' ? { ...c, text: redact(c.text) } : c)) };
}

/** The last block of the last message carries a cache breakpoint, so the next step reads this prefix from the cache. */
function withMovingBreakpoint(messages: readonly Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  const out = [...messages];
  const last = out[out.length - 1];
  if (!last || typeof last.content === 'string' || last.content.length === 0) return out;
  const blocks = [...last.content];
  blocks[blocks.length - 1] = { ...blocks[blocks.length - 1], cache_control: EPHEMERAL } as Anthropic.ContentBlockParam;
  out[out.length - 1] = { ...last, content: blocks } as Anthropic.MessageParam;
  return out;
}

/**
 * One request of a diagnosis. Tools and system prompt are static, so each set carries a cache
 * breakpoint (the last tool, the last system block). While investigating, a third breakpoint moves
 * with the conversation, so each step reads the previous one's prefix from the cache. The final
 * step offers only submit_verdict: forced where the model allows it, else tool_choice auto (the
 * prompt requires the call, and an answer without it is refused as no-verdict). Changing the tools
 * changes the cached prefix, so the final step of an investigation reads only its own static
 * prefix (shared by every final step) from the cache and pays full input price for the rest.
 * The user side of the conversation is redacted once more on its way out (redactedUserTurns).
 */
export function buildStepRequest(r: StepRequest): Anthropic.MessageCreateParamsNonStreaming {
  const verdictTool = { name: VERDICT_TOOL_NAME, description: TOOL_DESCRIPTION, input_schema: verdictJsonSchema };
  const offered: Anthropic.Tool[] = r.investigating && !r.final
    ? [...INVESTIGATION_TOOLS.map((t) => ({ ...t, input_schema: { ...t.input_schema, type: 'object' as const } })), verdictTool]
    : [verdictTool];
  const tools = offered.map((t, i) => (i === offered.length - 1 ? { ...t, cache_control: EPHEMERAL } : t));
  const system: Anthropic.TextBlockParam[] = r.investigating
    ? [{ type: 'text', text: SYSTEM_PROMPT }, { type: 'text', text: INVESTIGATION_PROMPT, cache_control: EPHEMERAL }]
    : [{ type: 'text', text: SYSTEM_PROMPT, cache_control: EPHEMERAL }];
  const toolChoice: Anthropic.ToolChoice = !r.forced ? { type: 'auto' } : r.final ? { type: 'tool', name: VERDICT_TOOL_NAME } : { type: 'any' };
  return {
    model: r.model,
    max_tokens: r.maxTokens,
    ...(r.effort ? { output_config: { effort: r.effort } } : {}),
    system,
    tools,
    tool_choice: toolChoice,
    // Not on the final step: its tools differ, so nothing after them can be read back from the
    // cache, and writing the conversation there would cost 1.25x for nothing.
    messages: r.investigating && !r.final ? withMovingBreakpoint(redactedUserTurns(r.messages)) : redactedUserTurns(r.messages),
  };
}

/**
 * The answer as it must be sent back: thinking blocks unmodified and in order (the API refuses a
 * changed one), text, tool calls. Response-only fields are dropped.
 */
function assistantTurn(content: readonly Anthropic.ContentBlock[]): Anthropic.MessageParam {
  const blocks: Anthropic.ContentBlockParam[] = [];
  for (const b of content) {
    if (b.type === 'thinking') blocks.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    else if (b.type === 'redacted_thinking') blocks.push({ type: 'redacted_thinking', data: b.data });
    else if (b.type === 'text') blocks.push({ type: 'text', text: b.text });
    else if (b.type === 'tool_use') blocks.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
  }
  return { role: 'assistant', content: blocks };
}

const toolResult = (id: string, outcome: ToolOutcome): Anthropic.ToolResultBlockParam => ({
  type: 'tool_result',
  tool_use_id: id,
  content: outcome.text,
  ...(outcome.isError ? { is_error: true } : {}),
});

const notRun = (why: string): ToolOutcome => ({ text: `not run: ${why}`, isError: true, read: false });

/** The look-ups of one step, at most callsPerStep of them, in parallel, within the time left. */
async function runCalls(calls: readonly ToolCall[], scope: InvestigationScope, investigator: Investigator, timeoutMs: number, resultBytes: number): Promise<ToolOutcome[]> {
  const cap = INVESTIGATION_LIMITS.callsPerStep;
  if (timeoutMs < 1) return calls.map(() => notRun('no time left before the deadline'));
  return Promise.all(
    calls.map((call, i) =>
      i < cap ? runToolCall(call, scope, investigator, { timeoutMs, resultBytes }) : Promise.resolve(notRun(`at most ${cap} look-ups per step`)),
    ),
  );
}

export function createAnthropicDiagnoser(options: AnthropicDiagnoserOptions): Diagnoser {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const maxTokens = options.maxTokens ?? DEFAULTS.maxTokens;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
  const baseBackoffMs = options.baseBackoffMs ?? DEFAULTS.baseBackoffMs;
  const minAttemptMs = options.minAttemptMs ?? DEFAULTS.minAttemptMs;
  const prices = options.prices ?? DEFAULT_MODEL_PRICES;
  const investigator = options.investigator;
  const maxSteps = Math.max(1, Math.floor(options.maxSteps ?? DEFAULTS.maxSteps));
  const investigating = investigator !== undefined && maxSteps > 1;
  const bounds: LoopBounds = {
    maxSteps,
    maxInputTokens: options.maxInputTokens ?? DEFAULTS.maxInputTokens,
    minAttemptMs,
    toolTimeoutMs: options.toolTimeoutMs ?? INVESTIGATION_LIMITS.toolTimeoutMs,
    resultBytes: options.toolResultBytes ?? INVESTIGATION_LIMITS.resultBytes,
  };
  const client = new Anthropic({
    apiKey: options.apiKey,
    authToken: null,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: Math.max(1, Math.floor(options.timeoutMs)),
  });
  const model = options.model;
  const effort = options.effort === null ? undefined : (options.effort ?? defaultEffort(model));

  async function diagnose(incident: Incident, evidence: Evidence, callOptions: DiagnoseOptions = {}): Promise<Diagnosis> {
    const start = clock.now();
    const deadline = Math.min(start + options.timeoutMs, callOptions.deadline ?? Number.POSITIVE_INFINITY);
    const spend = newSpend();
    const state = { forced: options.toolChoice ? options.toolChoice === 'forced' : supportsForcedToolChoice(model) };
    const details = (extra: { status?: number; requestId?: string } = {}) => ({
      attempts: spend.requests,
      model,
      ...extra,
      ...(spend.requests > 0 ? { usage: usageFrom(spend, model, prices) } : {}),
    });

    /** One step: sends the request, retrying transient failures within the deadline. */
    async function send(step: Omit<StepRequest, 'forced'>): Promise<{ message: Anthropic.Message; bytes: number }> {
      let retriesLeft = options.maxRetries;
      let stepAttempts = 0;
      let last: AttemptFailure | undefined;
      const unavailable = (f: AttemptFailure, extra = ''): DiagnosisUnavailable =>
        new DiagnosisUnavailable(f.reason, `${f.message}${extra}`, details({
          ...(f.status !== undefined ? { status: f.status } : {}),
          ...(f.requestId !== undefined ? { requestId: f.requestId } : {}),
        }));
      for (;;) {
        const remaining = deadline - clock.now();
        if (remaining < minAttemptMs) {
          throw unavailable(
            last ?? { reason: 'timeout', retryable: false, message: 'no time left for a model call' },
            ` (deadline reached after ${spend.requests} attempt(s) and ${spend.steps} answered step(s), ${clock.now() - start} ms)`,
          );
        }
        spend.requests += 1;
        stepAttempts += 1;
        const request = buildStepRequest({ ...step, forced: state.forced });
        spend.sent.update(JSON.stringify(request)).update('\n');
        try {
          const message = await client.messages.create(request, {
            timeout: Math.max(1, Math.floor(remaining)),
            maxRetries: 0,
            ...(callOptions.signal ? { signal: callOptions.signal } : {}),
          });
          return { message, bytes: JSON.stringify(request).length };
        } catch (err) {
          const failure = classify(err, clock.now());
          last = failure;
          if (failure.toolChoiceRefused && state.forced) {
            // This model refuses forced tool use: ask again with auto; the prompt still requires the tool.
            state.forced = false;
            continue;
          }
          if (!failure.retryable || retriesLeft <= 0) throw unavailable(failure, ` (after ${spend.requests} attempt(s))`);
          const backoff = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (stepAttempts - 1)) * (1 - random() * 0.25);
          if (failure.retryAfterMs !== undefined && failure.retryAfterMs > maxBackoffMs) {
            // The server asks for a longer pause than we may spend: give up now, the runbook answers.
            throw unavailable(failure, ` (retry-after ${Math.round(failure.retryAfterMs / 1000)} s exceeds the ${maxBackoffMs} ms cap)`);
          }
          const wait = failure.retryAfterMs ?? backoff;
          if (clock.now() + wait + minAttemptMs > deadline) {
            throw unavailable(failure, ` (no time left to retry after ${spend.requests} attempt(s))`);
          }
          retriesLeft -= 1;
          try {
            await sleep(wait, undefined, callOptions.signal ? { signal: callOptions.signal } : {});
          } catch {
            throw unavailable({ reason: 'aborted', retryable: false, message: 'aborted by the caller during backoff' });
          }
        }
      }
    }

    const prompt = buildPrompt(incident, evidence, investigating ? { investigation: { maxSteps } } : {});
    // A block, not a string, while investigating: the moving cache breakpoint needs somewhere to sit.
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: investigating ? [{ type: 'text', text: prompt.user }] : prompt.user }];
    const scope = scopeOf(evidence);
    let final = !investigating;
    for (;;) {
      const stepStart = clock.now();
      const { message, bytes } = await send({ model, maxTokens, effort, investigating, final, messages });
      const stepMs = clock.now() - stepStart;
      // A non-JSON 200 comes back from the SDK as a string; anything not message-shaped is refused.
      if (typeof message !== 'object' || message === null || !Array.isArray(message.content)) {
        throw new DiagnosisUnavailable('bad-response', 'response is not a Messages API message', details());
      }
      addStep(spend, usageOf(message), bytes);
      if (message.stop_reason === 'refusal') throw new DiagnosisUnavailable('refusal', 'the model declined to answer', details());

      // Select by type: thinking blocks may come first on models with adaptive thinking.
      const toolUses = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      if (final || toolUses.length === 0 || toolUses.some((t) => t.name === VERDICT_TOOL_NAME)) {
        return interpret(message, evidence, details());
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
      calls.forEach((call, i) => {
        const outcome = outcomes[i];
        if (outcome && spend.lookups.length < LOOKUP_AUDIT.entries) spend.lookups.push(lookupLine(call, outcome));
      });
      final = plan.kind !== 'investigate';
      messages.push(assistantTurn(message.content));
      messages.push({
        role: 'user',
        content: [
          ...calls.map((c, i) => toolResult(c.id, outcomes[i] ?? notRun('no result'))),
          ...(final ? [{ type: 'text' as const, text: FINAL_STEP_NOTE }] : []),
        ],
      });
    }
  }

  function interpret(message: Anthropic.Message, evidence: Evidence, spent: DiagnosisUnavailable['details']): Diagnosis {
    const calls = message.content.filter(
      (block): block is Anthropic.ToolUseBlock => block.type === 'tool_use' && block.name === VERDICT_TOOL_NAME,
    );
    if (calls.length !== 1) {
      throw new DiagnosisUnavailable(
        'no-verdict',
        `expected one ${VERDICT_TOOL_NAME} call, got ${calls.length} (stop_reason ${String(message.stop_reason)}, step ${spent.usage?.steps ?? '?'})`,
        spent,
      );
    }
    const result = validateVerdict(calls[0]?.input, evidence);
    if (!result.ok) throw new DiagnosisUnavailable('rejected', `model verdict refused by validation: ${result.reason}`, spent);
    return { ...result.diagnosis, model, ...(spent.usage ? { usage: spent.usage } : {}) };
  }

  return { diagnose };
}

/** The Claude diagnoser from configuration, or undefined when there is no key (runbook only). */
export function anthropicDiagnoserFromConfig(
  config: HealerConfig,
  overrides: Partial<AnthropicDiagnoserOptions> = {},
): Diagnoser | undefined {
  const apiKey = overrides.apiKey ?? config.anthropicApiKey;
  if (!apiKey) return undefined;
  return createAnthropicDiagnoser({
    baseURL: config.anthropicBaseUrl,
    model: config.settings.model.name,
    timeoutMs: config.settings.model.timeoutSeconds * 1000,
    maxRetries: config.settings.model.maxRetries,
    maxSteps: config.settings.model.maxSteps,
    maxInputTokens: config.settings.model.maxInputTokens,
    prices: config.settings.model.prices,
    ...overrides,
    apiKey,
  });
}
