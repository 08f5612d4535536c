import { redact } from '../evidence/redact.js';
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealerConfig } from '../config/config.js';
import { createModelDiagnoser, LOOP_DEFAULTS, stepShape } from '../diagnose/model-loop.js';
import { systemClock, type Clock, type Diagnoser } from '../ports/index.js';
import type { Investigator } from '../ports/investigator.js';
import { ModelFailure, type ModelBlock, type ModelCall, type ModelClient, type ModelFailureKind, type ModelMessage, type ModelSession, type ModelStep, type ModelTokens, type ModelTurn } from '../ports/model-client.js';
import type { ModelPrices } from '../diagnose/cost.js';

/**
 * Claude through the real SDK, as the model port of lib/ports/model-client.ts: it builds the
 * Messages API request of a step, sends it, and maps what comes back (or the SDK's error) to the
 * port's shapes. The investigation loop, its budgets and what the audit sees are
 * lib/diagnose/model-loop.ts. The SDK's own retries are off (it honours retry-after without a
 * cap): this adapter retries each step itself, with capped backoff, inside the diagnosis'
 * deadline. The request is an exit: the user side is redacted once more here (redactedUserTurns).
 */

export { DiagnosisUnavailable, type UnavailableReason } from '../diagnose/model-loop.js';

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
  // From here on: the loop's options, passed on to lib/diagnose/model-loop.ts (clock is shared).
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
const DEFAULTS = { maxTokens: 8192, maxBackoffMs: 2000, baseBackoffMs: 250 } as const;

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

interface AttemptFailure {
  readonly reason: ModelFailureKind;
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
  const transient = (reason: ModelFailureKind): AttemptFailure => ({
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
function usageOf(message: Anthropic.Message): ModelTokens | undefined {
  const u = message.usage as Partial<Anthropic.Usage> | undefined;
  if (!u || typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') return undefined;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    ...(typeof u.cache_read_input_tokens === 'number' ? { cacheReadTokens: u.cache_read_input_tokens } : {}),
    ...(typeof u.cache_creation_input_tokens === 'number' ? { cacheWriteTokens: u.cache_creation_input_tokens } : {}),
  };
}

const EPHEMERAL = { type: 'ephemeral' } as const;

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

interface Wire {
  readonly model: string;
  readonly maxTokens: number;
  readonly effort?: Effort | undefined;
  readonly forced: boolean;
}

/**
 * One step as a Messages API request. Tools and system prompt are static, so each set carries a
 * cache breakpoint (the last tool, the last system block). While the conversation continues, a
 * third breakpoint moves with it, so each step reads the previous one's prefix from the cache. A
 * required tool is forced where the model allows it, else tool_choice auto (the prompt requires
 * the call, and the loop refuses an answer without it). Changing the tools changes the cached
 * prefix, so the final step of an investigation reads only its own static prefix from the cache
 * and pays full input price for the rest. The user side is redacted once more on its way out.
 */
function messagesRequest(step: Omit<ModelStep, 'messages'>, messages: readonly Anthropic.MessageParam[], w: Wire): Anthropic.MessageCreateParamsNonStreaming {
  const offered: Anthropic.Tool[] = step.tools.map((t) => ({ ...t, input_schema: { ...t.input_schema, type: 'object' as const } }));
  const tools = offered.map((t, i) => (i === offered.length - 1 ? { ...t, cache_control: EPHEMERAL } : t));
  const system: Anthropic.TextBlockParam[] = step.system.map((text, i) =>
    i === step.system.length - 1 ? { type: 'text', text, cache_control: EPHEMERAL } : { type: 'text', text });
  const toolChoice: Anthropic.ToolChoice = !w.forced ? { type: 'auto' } : step.mustCall !== undefined ? { type: 'tool', name: step.mustCall } : { type: 'any' };
  return {
    model: w.model,
    max_tokens: w.maxTokens,
    ...(w.effort ? { output_config: { effort: w.effort } } : {}),
    system,
    tools,
    tool_choice: toolChoice,
    // Not on the final step: its tools differ, so nothing after them can be read back from the
    // cache, and writing the conversation there would cost 1.25x for nothing.
    messages: step.continues ? withMovingBreakpoint(redactedUserTurns(messages)) : redactedUserTurns(messages),
  };
}

/** One request of a diagnosis, from the loop's step shape (lib/diagnose/model-loop.ts stepShape). */
export function buildStepRequest(r: StepRequest): Anthropic.MessageCreateParamsNonStreaming {
  return messagesRequest(stepShape(r.investigating, r.final), r.messages, r);
}

/** The port's turns are the Messages API's params already (same blocks, same key order). */
const toParam = (turn: ModelTurn): Anthropic.MessageParam => ({ role: turn.role, content: typeof turn.content === 'string' ? turn.content : [...turn.content] });

/**
 * The answer as it must be sent back: thinking blocks unmodified and in order (the API refuses a
 * changed one), text, tool calls. Response-only fields and other block types are dropped.
 */
function answerBlocks(content: readonly Anthropic.ContentBlock[]): ModelBlock[] {
  const blocks: ModelBlock[] = [];
  for (const b of content) {
    if (b.type === 'thinking') blocks.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    else if (b.type === 'redacted_thinking') blocks.push({ type: 'redacted_thinking', data: b.data });
    else if (b.type === 'text') blocks.push({ type: 'text', text: b.text });
    else if (b.type === 'tool_use') blocks.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
  }
  return blocks;
}

/** A Messages API answer as the port's message; a non-JSON 200 comes back from the SDK as a string. */
function messageOf(message: Anthropic.Message): ModelMessage {
  if (typeof message !== 'object' || message === null || !Array.isArray(message.content)) {
    throw new ModelFailure('bad-response', 'response is not a Messages API message');
  }
  return { content: answerBlocks(message.content), stopReason: message.stop_reason, usage: usageOf(message) };
}

/** The model port over the SDK: one session per diagnosis. */
export function anthropicModelClient(options: AnthropicDiagnoserOptions): ModelClient {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const maxTokens = options.maxTokens ?? DEFAULTS.maxTokens;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
  const baseBackoffMs = options.baseBackoffMs ?? DEFAULTS.baseBackoffMs;
  const minAttemptMs = options.minAttemptMs ?? LOOP_DEFAULTS.minAttemptMs;
  const client = new Anthropic({
    apiKey: options.apiKey,
    authToken: null,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: Math.max(1, Math.floor(options.timeoutMs)),
  });
  const model = options.model;
  const effort = options.effort === null ? undefined : (options.effort ?? defaultEffort(model));

  function open(call: ModelCall): ModelSession {
    // Learned once per diagnosis: a model that refuses forced tool use is asked with auto from then on.
    const state = { forced: options.toolChoice ? options.toolChoice === 'forced' : supportsForcedToolChoice(model) };

    /** One step: sends the request, retrying transient failures within the deadline. */
    async function step(request: ModelStep): Promise<ModelMessage> {
      const params = request.messages.map(toParam);
      let retriesLeft = options.maxRetries;
      let stepAttempts = 0;
      let last: AttemptFailure | undefined;
      const failure = (f: AttemptFailure, extra = ''): ModelFailure => new ModelFailure(f.reason, `${f.message}${extra}`, f.status, f.requestId);
      for (;;) {
        const remaining = call.deadline - clock.now();
        if (remaining < minAttemptMs) {
          throw failure(
            last ?? { reason: 'timeout', retryable: false, message: 'no time left for a model call' },
            ` (deadline reached after ${call.requests()} attempt(s) and ${call.steps()} answered step(s), ${clock.now() - call.startedAt} ms)`,
          );
        }
        stepAttempts += 1;
        const body = messagesRequest(request, params, { model, maxTokens, effort, forced: state.forced });
        call.sent(JSON.stringify(body));
        let answer: Anthropic.Message;
        try {
          answer = await client.messages.create(body, {
            timeout: Math.max(1, Math.floor(remaining)),
            maxRetries: 0,
            ...(call.signal ? { signal: call.signal } : {}),
          });
        } catch (err) {
          const f = classify(err, clock.now());
          last = f;
          if (f.toolChoiceRefused && state.forced) {
            // This model refuses forced tool use: ask again with auto; the prompt still requires the tool.
            state.forced = false;
            continue;
          }
          if (!f.retryable || retriesLeft <= 0) throw failure(f, ` (after ${call.requests()} attempt(s))`);
          const backoff = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (stepAttempts - 1)) * (1 - random() * 0.25);
          if (f.retryAfterMs !== undefined && f.retryAfterMs > maxBackoffMs) {
            // The server asks for a longer pause than we may spend: give up now, the runbook answers.
            throw failure(f, ` (retry-after ${Math.round(f.retryAfterMs / 1000)} s exceeds the ${maxBackoffMs} ms cap)`);
          }
          const wait = f.retryAfterMs ?? backoff;
          if (clock.now() + wait + minAttemptMs > call.deadline) {
            throw failure(f, ` (no time left to retry after ${call.requests()} attempt(s))`);
          }
          retriesLeft -= 1;
          try {
            await sleep(wait, undefined, call.signal ? { signal: call.signal } : {});
          } catch {
            throw failure({ reason: 'aborted', retryable: false, message: 'aborted by the caller during backoff' });
          }
          continue;
        }
        return messageOf(answer);
      }
    }
    return { step };
  }

  return { model, open };
}

/** Claude as the diagnoser: the loop of lib/diagnose/model-loop.ts over the SDK port. */
export function createAnthropicDiagnoser(options: AnthropicDiagnoserOptions): Diagnoser {
  return createModelDiagnoser(anthropicModelClient(options), {
    timeoutMs: options.timeoutMs,
    investigator: options.investigator,
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.maxInputTokens !== undefined ? { maxInputTokens: options.maxInputTokens } : {}),
    ...(options.minAttemptMs !== undefined ? { minAttemptMs: options.minAttemptMs } : {}),
    ...(options.prices !== undefined ? { prices: options.prices } : {}),
    ...(options.toolTimeoutMs !== undefined ? { toolTimeoutMs: options.toolTimeoutMs } : {}),
    ...(options.toolResultBytes !== undefined ? { toolResultBytes: options.toolResultBytes } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
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
