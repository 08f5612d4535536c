import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealerConfig } from '../config/config.js';
import type { Diagnosis, Evidence, Incident } from '../domain/types.js';
import { buildPrompt, VERDICT_TOOL_NAME } from '../diagnose/prompt.js';
import { validateVerdict, verdictJsonSchema } from '../diagnose/verdict.js';
import { systemClock, type Clock, type DiagnoseOptions, type Diagnoser } from '../ports/index.js';

/**
 * Diagnosis by Claude through the real SDK. One request with one tool (submit_verdict); the
 * answer is validated by code before anyone sees it. The SDK's own retries are off (it honours
 * retry-after without a cap): this adapter retries itself, with capped backoff, inside a deadline.
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
  | 'rejected';

export class DiagnosisUnavailable extends Error {
  override readonly name = 'DiagnosisUnavailable';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    readonly details: {
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
  readonly clock?: Clock;
  readonly random?: () => number;
}

// Thinking tokens count against max_tokens on adaptive-thinking models: leave room for the tool call.
const DEFAULTS = { maxTokens: 8192, maxBackoffMs: 2000, baseBackoffMs: 250, minAttemptMs: 500 } as const;

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

function usageOf(message: Anthropic.Message): Usage | undefined {
  const u = message.usage as Partial<Anthropic.Usage> | undefined;
  if (!u || typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') return undefined;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    ...(typeof u.cache_read_input_tokens === 'number' ? { cacheReadTokens: u.cache_read_input_tokens } : {}),
    ...(typeof u.cache_creation_input_tokens === 'number' ? { cacheWriteTokens: u.cache_creation_input_tokens } : {}),
  };
}

/** The request body. System prompt and tool are static, so both carry a cache breakpoint. */
export function buildMessagesRequest(
  model: string,
  maxTokens: number,
  incident: Incident,
  evidence: Evidence,
  forced: boolean,
  effort?: Effort,
): Anthropic.MessageCreateParamsNonStreaming {
  const prompt = buildPrompt(incident, evidence);
  return {
    model,
    max_tokens: maxTokens,
    ...(effort ? { output_config: { effort } } : {}),
    system: [{ type: 'text', text: prompt.system, cache_control: { type: 'ephemeral' } }],
    tools: [
      {
        name: VERDICT_TOOL_NAME,
        description: TOOL_DESCRIPTION,
        input_schema: verdictJsonSchema,
        cache_control: { type: 'ephemeral' },
      },
    ],
    tool_choice: forced ? { type: 'tool', name: VERDICT_TOOL_NAME } : { type: 'auto' },
    messages: [{ role: 'user', content: prompt.user }],
  };
}

export function createAnthropicDiagnoser(options: AnthropicDiagnoserOptions): Diagnoser {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const maxTokens = options.maxTokens ?? DEFAULTS.maxTokens;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
  const baseBackoffMs = options.baseBackoffMs ?? DEFAULTS.baseBackoffMs;
  const minAttemptMs = options.minAttemptMs ?? DEFAULTS.minAttemptMs;
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
    let forced = options.toolChoice ? options.toolChoice === 'forced' : supportsForcedToolChoice(model);
    let attempts = 0;
    let retriesLeft = options.maxRetries;
    let last: AttemptFailure | undefined;

    const unavailable = (f: AttemptFailure, extra = ''): DiagnosisUnavailable =>
      new DiagnosisUnavailable(f.reason, `${f.message}${extra}`, {
        attempts,
        model,
        ...(f.status !== undefined ? { status: f.status } : {}),
        ...(f.requestId !== undefined ? { requestId: f.requestId } : {}),
      });

    for (;;) {
      const remaining = deadline - clock.now();
      if (remaining < minAttemptMs) {
        throw unavailable(
          last ?? { reason: 'timeout', retryable: false, message: 'no time left for a model call' },
          ` (deadline reached after ${attempts} attempt(s), ${clock.now() - start} ms)`,
        );
      }
      attempts += 1;
      let message: Anthropic.Message;
      try {
        message = await client.messages.create(buildMessagesRequest(model, maxTokens, incident, evidence, forced, effort), {
          timeout: Math.max(1, Math.floor(remaining)),
          maxRetries: 0,
          ...(callOptions.signal ? { signal: callOptions.signal } : {}),
        });
      } catch (err) {
        const failure = classify(err, clock.now());
        last = failure;
        if (failure.toolChoiceRefused && forced) {
          // This model refuses forced tool use: ask again once with auto; the prompt still requires the tool.
          forced = false;
          continue;
        }
        if (!failure.retryable || retriesLeft <= 0) throw unavailable(failure, ` (after ${attempts} attempt(s))`);
        const backoff = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempts - 1)) * (1 - random() * 0.25);
        if (failure.retryAfterMs !== undefined && failure.retryAfterMs > maxBackoffMs) {
          // The server asks for a longer pause than we may spend: give up now, the runbook answers.
          throw unavailable(failure, ` (retry-after ${Math.round(failure.retryAfterMs / 1000)} s exceeds the ${maxBackoffMs} ms cap)`);
        }
        const wait = failure.retryAfterMs ?? backoff;
        if (clock.now() + wait + minAttemptMs > deadline) {
          throw unavailable(failure, ` (no time left to retry after ${attempts} attempt(s))`);
        }
        retriesLeft -= 1;
        try {
          await sleep(wait, undefined, callOptions.signal ? { signal: callOptions.signal } : {});
        } catch {
          throw unavailable({ reason: 'aborted', retryable: false, message: 'aborted by the caller during backoff' });
        }
        continue;
      }
      return interpret(message, evidence, attempts);
    }
  }

  function interpret(message: Anthropic.Message, evidence: Evidence, attempts: number): Diagnosis {
    // A non-JSON 200 comes back from the SDK as a string; anything not message-shaped is refused.
    if (typeof message !== 'object' || message === null || !Array.isArray(message.content)) {
      throw new DiagnosisUnavailable('bad-response', 'response is not a Messages API message', { attempts, model });
    }
    const usage = usageOf(message);
    const details = { attempts, model, ...(usage ? { usage } : {}) };
    if (message.stop_reason === 'refusal') {
      throw new DiagnosisUnavailable('refusal', 'the model declined to answer', details);
    }
    // Select by type: thinking blocks may come first on models with adaptive thinking.
    const calls = message.content.filter(
      (block): block is Anthropic.ToolUseBlock => block.type === 'tool_use' && block.name === VERDICT_TOOL_NAME,
    );
    if (calls.length !== 1) {
      throw new DiagnosisUnavailable(
        'no-verdict',
        `expected one ${VERDICT_TOOL_NAME} call, got ${calls.length} (stop_reason ${String(message.stop_reason)})`,
        details,
      );
    }
    const result = validateVerdict(calls[0]?.input, evidence);
    if (!result.ok) throw new DiagnosisUnavailable('rejected', `model verdict refused by validation: ${result.reason}`, details);
    return { ...result.diagnosis, model, ...(usage ? { usage } : {}) };
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
    model: config.model,
    timeoutMs: config.modelTimeoutSeconds * 1000,
    maxRetries: config.modelMaxRetries,
    ...overrides,
    apiKey,
  });
}
