/**
 * The model behind a diagnosis, one step at a time: a request (system prompt, offered tools, the
 * conversation so far) goes in, one answered message comes out. The investigation loop
 * (lib/diagnose/model-loop.ts) decides everything else: which tools are offered, when the last
 * step must answer, budgets, what the audit sees. A client only talks to its API: it builds the
 * call, bounds retries and timeouts, and maps its failures to the kinds below. No SDK types here.
 *
 * Content blocks follow the Messages API's shapes (and key order), so the adapter passes them on
 * unchanged; the loop reads them only by type.
 */

export type ModelBlock =
  | { readonly type: 'text'; readonly text: string }
  /** Sent back unmodified and in order: the API refuses a changed thinking block. */
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'redacted_thinking'; readonly data: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly tool_use_id: string; readonly content: string; readonly is_error?: true };

export interface ModelTurn {
  readonly role: 'user' | 'assistant';
  readonly content: string | readonly ModelBlock[];
}

/** A tool as the model sees it. */
export interface ModelTool {
  readonly name: string;
  readonly description: string;
  readonly input_schema: { readonly type: 'object'; readonly [key: string]: unknown };
}

export interface ModelStep {
  /** Static system prompt blocks (cacheable). */
  readonly system: readonly string[];
  /** Static tool definitions (cacheable), in the order offered. */
  readonly tools: readonly ModelTool[];
  /**
   * The tool this answer must call, or undefined when a call to any offered tool will do. A client
   * whose model refuses forced tool use offers the tools freely instead: the prompt still requires
   * the call, and the loop refuses an answer without it.
   */
  readonly mustCall?: string | undefined;
  readonly messages: readonly ModelTurn[];
  /** More steps may follow this one: worth caching the conversation so far. */
  readonly continues: boolean;
}

export interface ModelTokens {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens?: number;
  readonly cacheWriteTokens?: number;
}

export interface ModelMessage {
  /** The answer's blocks as they must be sent back (response-only fields dropped). */
  readonly content: readonly ModelBlock[];
  /** As the API gave it ('refusal' when the model declined). */
  readonly stopReason: string | null | undefined;
  /** Undefined when the API reported none. */
  readonly usage?: ModelTokens | undefined;
}

export type ModelFailureKind =
  | 'rate-limited'
  | 'overloaded'
  | 'server-error'
  | 'timeout'
  | 'transport'
  | 'bad-response'
  | 'bad-request'
  | 'auth'
  | 'aborted';

/** A step the client could not get answered (after its own bounded retries). */
export class ModelFailure extends Error {
  override readonly name = 'ModelFailure';
  constructor(
    readonly kind: ModelFailureKind,
    message: string,
    readonly status?: number,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/**
 * One diagnosis' dealings with the model, shared by all its steps. The loop owns it: the client
 * reports every request body it sends (counted and digested for the audit), and reads the counts
 * for its own messages.
 */
export interface ModelCall {
  readonly startedAt: number;
  /** No request is started after this (epoch ms). */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
  /** A request body as sent, every attempt included. */
  sent(body: string): void;
  /** Requests sent so far in this diagnosis, retries included. */
  requests(): number;
  /** Steps answered so far in this diagnosis. */
  steps(): number;
}

export interface ModelSession {
  /** One step in, one message out; throws ModelFailure. */
  step(request: ModelStep): Promise<ModelMessage>;
}

export interface ModelClient {
  readonly model: string;
  /** A session for one diagnosis: steps share its deadline and what the client learns (e.g. that the model refuses forced tool use). */
  open(call: ModelCall): ModelSession;
}
