import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTokenizer } from '@anthropic-ai/tokenizer';

/**
 * A real HTTP server on 127.0.0.1 that speaks enough of the Anthropic Messages API
 * (POST /v1/messages, non-streaming) for the real @anthropic-ai/sdk: it checks the request shape,
 * answers 400/401/404 with the API's error body when something is wrong, plays a queue of
 * scripted replies, and records every request (headers and body) for assertions.
 *
 * Multi-step conversations: a scripted tool_use reply gets ids from this server, and every later
 * request that replays that assistant turn must (as on the real API) carry it unmodified and
 * answer each of its tool_use ids with a tool_result block, first in the next user message;
 * otherwise the request is refused with a 400 and consumes no step.
 *
 * Shapes follow platform.claude.com/docs/en/api/errors (error body: {type:'error', error:{type,
 * message}, request_id} plus a request-id header) and the SDK 1.x Message/Usage types.
 *
 * Token counts come from @anthropic-ai/tokenizer, Anthropic's published tokenizer. It is the
 * legacy (pre-Claude 3) vocabulary, so for current models the counts are an approximation: the
 * Claude 4.7+/5.x tokenizer is documented to produce about 30% more tokens for the same text than
 * Haiku 4.5's, and the real API also counts the rendering of tools and messages, which this server
 * approximates as the JSON of each tool and the text of each block. Prompt caching is simulated
 * at cache_control breakpoints (up to 20 blocks of look-back, as documented): cache_read_input_tokens
 * are reported for a repeated prefix, cache_creation_input_tokens for a new one.
 */

export interface UsageOut {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export type ScriptedStep = (
  | { readonly kind: 'tool-use'; readonly input: unknown; readonly name?: string; readonly thinking?: boolean; readonly text?: string }
  /** Several tool calls in one answer (the model investigating in parallel). */
  | { readonly kind: 'tool-uses'; readonly calls: readonly { readonly name: string; readonly input: unknown }[]; readonly thinking?: boolean }
  | { readonly kind: 'text'; readonly text: string; readonly stopReason?: 'end_turn' | 'max_tokens' | 'refusal' }
  | { readonly kind: 'error'; readonly status: number; readonly errorType: string; readonly message: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'hang' }
) & { readonly delayMs?: number; readonly usage?: Partial<UsageOut> };

/** Ready-made steps for the scenarios tests need. */
export const steps = {
  verdict: (input: unknown, extra: { thinking?: boolean; text?: string; usage?: Partial<UsageOut> } = {}): ScriptedStep => ({
    kind: 'tool-use',
    input,
    ...extra,
  }),
  toolUse: (name: string, input: unknown, extra: { thinking?: boolean } = {}): ScriptedStep => ({ kind: 'tool-use', name, input, ...extra }),
  toolUses: (...calls: { name: string; input: unknown }[]): ScriptedStep => ({ kind: 'tool-uses', calls, thinking: true }),
  text: (text: string): ScriptedStep => ({ kind: 'text', text }),
  refusal: (): ScriptedStep => ({ kind: 'text', text: '', stopReason: 'refusal' }),
  rateLimited: (retryAfterSeconds: number): ScriptedStep => ({
    kind: 'error',
    status: 429,
    errorType: 'rate_limit_error',
    message: 'This request would exceed your organization’s rate limit. Please try again later.',
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  overloaded: (): ScriptedStep => ({ kind: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' }),
  serverError: (): ScriptedStep => ({ kind: 'error', status: 500, errorType: 'api_error', message: 'Internal server error' }),
  hang: (): ScriptedStep => ({ kind: 'hang' }),
  invalidJson: (): ScriptedStep => ({ kind: 'raw', status: 200, body: '{"id":"msg_1","type":"message","content":[{"type":', headers: { 'content-type': 'application/json' } }),
} as const;

export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** Lower-cased header names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly rawBody: string;
  readonly body: unknown;
  /** Shape problems found; non-empty means the request was answered with an error and consumed no step. */
  readonly problems: readonly string[];
  readonly status: number;
  readonly step?: ScriptedStep['kind'];
  /** Prompt tokens (legacy tokenizer, see above): whole prompt, and tools + system. */
  readonly estimatedInputTokens?: number;
  readonly estimatedPrefixTokens?: number;
  /** The usage this request was answered with (200s only). */
  readonly usage?: UsageOut;
  /** tool_use ids this request answered with tool_result blocks. */
  readonly toolResultsFor?: readonly string[];
}

export interface MessagesApiServerOptions {
  /** When set, the key (x-api-key or Authorization: Bearer) must equal it. */
  readonly apiKey?: string;
  /** Prefixes shorter than this are not cached, as on the real API (default 1024, Sonnet 5's documented floor). */
  readonly minCacheableTokens?: number;
  /** Models that answer a forced tool_choice with a 400, as Claude Sonnet 5.5 does. */
  readonly rejectsForcedToolChoice?: (model: string) => boolean;
  /**
   * Answers a valid request when no scripted step is queued: a stand-in model that reads the
   * request (its model, prompt and conversation so far) and picks the reply. For callers that do
   * not script the order of their requests, such as the live eval's tests. Undefined: a 500.
   */
  readonly respond?: (request: Readonly<Record<string, unknown>>) => ScriptedStep | undefined;
}

export interface MessagesApiServer {
  /** For the SDK's baseURL (it appends /v1/messages). */
  readonly baseURL: string;
  readonly requests: readonly RecordedRequest[];
  enqueue(...scripted: ScriptedStep[]): void;
  /** Steps not yet played. */
  pending(): number;
  /** Forgets requests, queued steps and the prompt cache. */
  reset(): void;
  close(): Promise<void>;
}

const KNOWN_TOP_LEVEL = new Set([
  'model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'metadata', 'stop_sequences', 'stream',
  'temperature', 'top_p', 'top_k', 'thinking', 'output_config', 'service_tier', 'cache_control', 'container',
  'diagnostics', 'inference_geo', 'speed', 'context_management', 'mcp_servers',
]);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_CACHE_BREAKPOINTS = 4;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const id = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;
/** The real API looks back this many blocks before each breakpoint for an earlier cache entry. */
const CACHE_LOOKBACK_BLOCKS = 20;

type Block = Record<string, unknown>;

/** A content block reduced to what must survive a round trip (what the API compares). */
function project(block: unknown): unknown {
  if (!isObject(block)) return block;
  switch (block['type']) {
    case 'thinking':
      return { type: 'thinking', thinking: block['thinking'], signature: block['signature'] };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: block['data'] };
    case 'text':
      return { type: 'text', text: block['text'] };
    case 'tool_use':
      return { type: 'tool_use', id: block['id'], name: block['name'], input: block['input'] };
    default:
      return { type: block['type'] };
  }
}

const blocksOf = (message: unknown): Block[] => {
  const content = isObject(message) ? message['content'] : undefined;
  return Array.isArray(content) ? content.filter(isObject) : [];
};

/**
 * The rules of a tool conversation, as the real API enforces them: an assistant turn with tool_use
 * blocks is answered in the very next user message, tool_result blocks first, one per id; a
 * tool_result answers a tool_use of the turn before it; and an assistant turn this server wrote
 * comes back unmodified (thinking blocks included). Returns problems and the ids answered.
 */
function checkConversation(messages: readonly unknown[], issued: ReadonlyMap<string, string>): { problems: string[]; answered: string[] } {
  const problems: string[] = [];
  const answered: string[] = [];
  messages.forEach((message, i) => {
    if (!isObject(message)) return;
    const blocks = blocksOf(message);
    if (message['role'] === 'assistant') {
      const ids = blocks.filter((b) => b['type'] === 'tool_use').map((b) => String(b['id']));
      const ours = ids.find((toolId) => issued.has(toolId));
      if (ours !== undefined && issued.get(ours) !== JSON.stringify(blocks.map(project))) {
        problems.push(`messages.${i}: the assistant turn differs from the response it came from (blocks must be passed back unmodified and in order)`);
      }
      if (ids.length === 0) return;
      const next = messages[i + 1];
      const nextBlocks = blocksOf(next);
      const results = nextBlocks.filter((b) => b['type'] === 'tool_result').map((b) => String(b['tool_use_id']));
      const missing = ids.filter((toolId) => !results.includes(toolId));
      if (!isObject(next) || next['role'] !== 'user' || missing.length > 0) {
        problems.push(`messages.${i + 1}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ') || ids.join(', ')}. Each tool_use block must have a corresponding tool_result block in the next message.`);
      }
      const firstOther = nextBlocks.findIndex((b) => b['type'] !== 'tool_result');
      if (firstOther >= 0 && nextBlocks.slice(firstOther).some((b) => b['type'] === 'tool_result')) {
        problems.push(`messages.${i + 1}: tool_result blocks must come first in the user message, before any other content`);
      }
    } else if (message['role'] === 'user') {
      const results = blocks.filter((b) => b['type'] === 'tool_result').map((b) => String(b['tool_use_id']));
      if (results.length === 0) return;
      const previous = blocksOf(messages[i - 1]).filter((b) => b['type'] === 'tool_use').map((b) => String(b['id']));
      const unexpected = results.filter((toolId) => !previous.includes(toolId));
      if (unexpected.length > 0) {
        problems.push(`messages.${i}: unexpected tool_use_id found in tool_result blocks: ${unexpected.join(', ')}. Each tool_result block must have a corresponding tool_use block in the previous message.`);
      }
      if (i === messages.length - 1) answered.push(...results);
    }
  });
  return { problems, answered };
}

/** One unit of the prompt in the order the API reads it (tools, system, messages), for counting and caching. */
interface Segment {
  readonly text: string;
  /** What else makes the block unique for the cache (tool ids, signatures), not counted as tokens. */
  readonly identity?: string;
  readonly breakpoint: boolean;
  readonly prefix: boolean;
}

const identityOf = (b: Block): string | undefined => {
  const parts = [b['id'], b['tool_use_id'], b['signature'], b['is_error']].filter((v) => v !== undefined);
  return parts.length > 0 ? JSON.stringify(parts) : undefined;
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function blockText(block: Block): string {
  switch (block['type']) {
    case 'text':
      return str(block['text']);
    case 'thinking':
      return str(block['thinking']);
    case 'tool_use':
      return JSON.stringify({ name: block['name'], input: block['input'] });
    case 'tool_result': {
      const content = block['content'];
      if (typeof content === 'string') return content;
      return Array.isArray(content) ? content.filter(isObject).map((c) => str(c['text'])).join('\n') : '';
    }
    default:
      return JSON.stringify({ ...block, cache_control: undefined });
  }
}

function segmentsOf(body: Record<string, unknown>): Segment[] {
  const out: Segment[] = [];
  const tools = Array.isArray(body['tools']) ? body['tools'].filter(isObject) : [];
  for (const t of tools) {
    out.push({ text: JSON.stringify({ name: t['name'], description: t['description'], input_schema: t['input_schema'] }), breakpoint: t['cache_control'] != null, prefix: true });
  }
  const system = body['system'];
  if (typeof system === 'string') out.push({ text: system, breakpoint: false, prefix: true });
  else if (Array.isArray(system)) for (const b of system.filter(isObject)) out.push({ text: str(b['text']), breakpoint: b['cache_control'] != null, prefix: true });
  const messages = Array.isArray(body['messages']) ? body['messages'].filter(isObject) : [];
  for (const m of messages) {
    const role = `\n\n${String(m['role'])}: `;
    const content = m['content'];
    if (typeof content === 'string') out.push({ text: role + content, breakpoint: false, prefix: false });
    else blocksOf(m).forEach((b, i) => {
      const identity = identityOf(b);
      out.push({ text: (i === 0 ? role : '') + blockText(b), ...(identity ? { identity } : {}), breakpoint: b['cache_control'] != null, prefix: false });
    });
  }
  return out;
}

/** Every cache_control in the request, with its path, for counting and checking. */
function findCacheControls(value: unknown, path: string, out: { path: string; value: unknown }[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => findCacheControls(v, `${path}.${i}`, out));
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'cache_control' && v !== null && v !== undefined) out.push({ path: `${path}.${k}`.replace(/^\./, ''), value: v });
      else if (k !== 'input_schema') findCacheControls(v, `${path}.${k}`, out);
    }
  }
}

function validateBody(body: unknown, rejectsForced: (model: string) => boolean): string[] {
  const problems: string[] = [];
  if (!isObject(body)) return ['body: expected a JSON object'];
  for (const key of Object.keys(body)) if (!KNOWN_TOP_LEVEL.has(key)) problems.push(`${key}: Extra inputs are not permitted`);
  if (typeof body['model'] !== 'string' || body['model'] === '') problems.push('model: Field required (a non-empty string)');
  const maxTokens = body['max_tokens'];
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) problems.push('max_tokens: Field required (an integer >= 1)');
  if (body['stream'] === true) problems.push('stream: this test server answers non-streaming requests only');

  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) problems.push('messages: Field required (a non-empty array)');
  else {
    messages.forEach((m: unknown, i) => {
      if (!isObject(m)) return problems.push(`messages.${i}: expected an object`);
      if (m['role'] !== 'user' && m['role'] !== 'assistant') problems.push(`messages.${i}.role: Input should be 'user' or 'assistant'`);
      const content = m['content'];
      if (typeof content === 'string') {
        if (content.length === 0) problems.push(`messages.${i}.content: must not be empty`);
      } else if (Array.isArray(content)) {
        content.forEach((b: unknown, j) => {
          if (!isObject(b) || typeof b['type'] !== 'string') problems.push(`messages.${i}.content.${j}.type: Field required`);
        });
      } else problems.push(`messages.${i}.content: Input should be a string or a list of content blocks`);
      return undefined;
    });
    if (isObject(messages[0]) && messages[0]['role'] !== 'user') problems.push('messages.0.role: the first message must use the user role');
  }

  const system = body['system'];
  if (system !== undefined && typeof system !== 'string') {
    if (!Array.isArray(system)) problems.push('system: Input should be a string or a list of text blocks');
    else system.forEach((b: unknown, i) => {
      if (!isObject(b) || b['type'] !== 'text' || typeof b['text'] !== 'string') problems.push(`system.${i}: expected {type:'text', text}`);
    });
  }

  const toolNames = new Set<string>();
  const tools = body['tools'];
  if (tools !== undefined) {
    if (!Array.isArray(tools)) problems.push('tools: Input should be a list');
    else tools.forEach((t: unknown, i) => {
      if (!isObject(t)) return problems.push(`tools.${i}: expected an object`);
      const name = t['name'];
      if (typeof name !== 'string' || !TOOL_NAME.test(name)) problems.push(`tools.${i}.name: String should match pattern '${TOOL_NAME.source}'`);
      else if (toolNames.has(name)) problems.push(`tools: Tool names must be unique (${name})`);
      else toolNames.add(name);
      const schema = t['input_schema'];
      if (!isObject(schema) || schema['type'] !== 'object') problems.push(`tools.${i}.input_schema.type: Input should be 'object'`);
      return undefined;
    });
  }

  const choice = body['tool_choice'];
  if (choice !== undefined) {
    if (!isObject(choice) || !['auto', 'any', 'tool', 'none'].includes(String(choice['type']))) {
      problems.push("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
    } else if (choice['type'] === 'tool' && (typeof choice['name'] !== 'string' || !toolNames.has(choice['name']))) {
      problems.push('tool_choice.name: must name one of the tools in the request');
    } else if ((choice['type'] === 'any' || choice['type'] === 'tool') && toolNames.size === 0) {
      problems.push('tool_choice: requires tools');
    } else if ((choice['type'] === 'any' || choice['type'] === 'tool') && typeof body['model'] === 'string' && rejectsForced(body['model'])) {
      // Our wording; the real API documents only that forced tool use returns a 400 on these models.
      problems.push(`tool_choice: forced tool use (type "${String(choice['type'])}") is not supported with model ${body['model']}; use "auto" or "none"`);
    }
  }

  const controls: { path: string; value: unknown }[] = [];
  findCacheControls(body, '', controls);
  for (const c of controls) {
    if (!isObject(c.value) || c.value['type'] !== 'ephemeral' || (c.value['ttl'] !== undefined && c.value['ttl'] !== '5m' && c.value['ttl'] !== '1h')) {
      problems.push(`${c.path}: Input should be {type:'ephemeral', ttl?: '5m'|'1h'}`);
    }
  }
  if (controls.length > MAX_CACHE_BREAKPOINTS) problems.push(`A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${controls.length}.`);
  return problems;
}

function send(res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  const requestId = id('req');
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }));
}

export async function startMessagesApiServer(options: MessagesApiServerOptions = {}): Promise<MessagesApiServer> {
  const queue: ScriptedStep[] = [];
  const requests: RecordedRequest[] = [];
  const cachedPrefixes = new Set<string>();
  /** tool_use id -> the projected content of the answer that issued it, to check it comes back unmodified. */
  const issued = new Map<string, string>();
  const minCacheable = options.minCacheableTokens ?? 1024;
  const rejectsForced = options.rejectsForcedToolChoice ?? (() => false);

  // One tokenizer for the server's life: building it parses the whole vocabulary.
  const tokenizer = getTokenizer();
  const countTokens = (text: string): number => (text === '' ? 0 : tokenizer.encode(text.normalize('NFKC'), 'all').length);

  /**
   * Counts the prompt and simulates the prompt cache: at each cache_control breakpoint the prefix
   * up to it is written (when at least minCacheable tokens long); a request reads the longest
   * prefix already written that ends at one of its block boundaries within the look-back window.
   */
  interface Counted {
    readonly hashes: readonly string[];
    readonly cumulative: readonly number[];
    readonly breakpoints: readonly number[];
    readonly total: number;
    /** Tokens of tools + system. */
    readonly prefix: number;
  }

  function count(body: Record<string, unknown>): Counted {
    const segments = segmentsOf(body);
    const hashes: string[] = [];
    const cumulative: number[] = [];
    let hash = createHash('sha256').update(String(body['model'])).digest('hex');
    let tokens = 0;
    for (const seg of segments) {
      hash = createHash('sha256').update(hash).update(seg.text).update('\u0000').update(seg.identity ?? '').digest('hex');
      tokens += countTokens(seg.text);
      hashes.push(hash);
      cumulative.push(tokens);
    }
    return {
      hashes,
      cumulative,
      breakpoints: segments.flatMap((seg, i) => (seg.breakpoint ? [i] : [])),
      total: tokens,
      prefix: segments.reduce((n, seg, i) => (seg.prefix ? cumulative[i] ?? n : n), 0),
    };
  }

  /**
   * The prompt cache, for an answered request: it reads the longest prefix already written that
   * ends at one of its block boundaries within the look-back window of a breakpoint, and writes
   * the prefix up to each breakpoint that is at least minCacheable tokens long.
   */
  function usageFor(c: Counted): UsageOut {
    let read = 0;
    for (const b of [...c.breakpoints].reverse()) {
      for (let j = b; j >= Math.max(0, b - CACHE_LOOKBACK_BLOCKS) && read === 0; j--) {
        if (cachedPrefixes.has(c.hashes[j] ?? '')) read = c.cumulative[j] ?? 0;
      }
      if (read > 0) break;
    }
    let written = 0;
    for (const b of c.breakpoints) {
      const size = c.cumulative[b] ?? 0;
      if (size < minCacheable) continue;
      cachedPrefixes.add(c.hashes[b] ?? '');
      written = Math.max(written, size);
    }
    const write = Math.max(0, written - read);
    return { input_tokens: c.total - read - write, output_tokens: 0, cache_creation_input_tokens: write, cache_read_input_tokens: read };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        sendError(res, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record = (r: Omit<RecordedRequest, 'at' | 'method' | 'path' | 'headers' | 'rawBody'>): void => {
      requests.push({ at: Date.now(), method: req.method ?? '', path, headers, rawBody, ...r });
    };

    let body: unknown;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }

    if (req.method !== 'POST' || path !== '/v1/messages') {
      record({ body, problems: [`no route ${req.method ?? ''} ${path}`], status: 404 });
      return sendError(res, 404, 'not_found_error', `Not found: ${req.method ?? ''} ${path}`);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(headers['authorization'] ?? '')?.[1];
    const key = headers['x-api-key'] ?? bearer;
    if (!key || (options.apiKey !== undefined && key !== options.apiKey)) {
      record({ body, problems: ['missing or invalid credentials'], status: 401 });
      return sendError(res, 401, 'authentication_error', key ? 'invalid x-api-key' : 'x-api-key header is required');
    }
    const problems: string[] = [];
    if (!headers['anthropic-version']) problems.push('anthropic-version: header is required');
    if (!(headers['content-type'] ?? '').includes('application/json')) problems.push('content-type: expected application/json');
    if (body === undefined) problems.push('body: There was an error parsing the body as JSON');
    else problems.push(...validateBody(body, rejectsForced));
    if (problems.length > 0) {
      record({ body, problems, status: 400 });
      return sendError(res, 400, 'invalid_request_error', problems.join('; '));
    }

    const request = body as Record<string, unknown>;
    const conversation = checkConversation(Array.isArray(request['messages']) ? request['messages'] : [], issued);
    if (conversation.problems.length > 0) {
      record({ body, problems: conversation.problems, status: 400 });
      return sendError(res, 400, 'invalid_request_error', conversation.problems.join('; '));
    }
    const counted = count(request);
    const tokens = { estimatedInputTokens: counted.total, estimatedPrefixTokens: counted.prefix, toolResultsFor: conversation.answered };
    const step = queue.shift() ?? options.respond?.(request);
    if (!step) {
      record({ body, problems: [], status: 500, ...tokens });
      return sendError(res, 500, 'api_error', 'test server: no scripted reply queued', { 'x-should-retry': 'false' });
    }
    const status = step.kind === 'error' || step.kind === 'raw' ? step.status : step.kind === 'hang' ? 0 : 200;
    if (status !== 200 || step.kind === 'raw') {
      record({ body, problems: [], status, step: step.kind, ...tokens });
      if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    }

    switch (step.kind) {
      case 'hang':
        return; // Never answers; the client's timeout must end it. close() drops the socket.
      case 'error':
        return sendError(res, step.status, step.errorType, step.message, step.headers);
      case 'raw':
        return send(res, step.status, step.body, step.headers);
      case 'text':
      case 'tool-use':
      case 'tool-uses': {
        const content: Block[] = [];
        let stopReason: string;
        if (step.kind === 'text') {
          if (step.text) content.push({ type: 'text', text: step.text, citations: null });
          stopReason = step.stopReason ?? 'end_turn';
        } else {
          if (step.thinking) content.push({ type: 'thinking', thinking: 'Looking at the evidence.', signature: id('sig') });
          if (step.kind === 'tool-use' && step.text) content.push({ type: 'text', text: step.text, citations: null });
          const calls = step.kind === 'tool-uses' ? step.calls : [{ name: step.name ?? 'submit_verdict', input: step.input }];
          for (const call of calls) content.push({ type: 'tool_use', id: id('toolu'), name: call.name, input: call.input, caller: { type: 'direct' } });
          stopReason = 'tool_use';
          const projected = JSON.stringify(content.map(project));
          for (const block of content) if (block['type'] === 'tool_use') issued.set(String(block['id']), projected);
        }
        const usage = { ...usageFor(counted), output_tokens: Math.max(1, countTokens(JSON.stringify(content))), ...step.usage };
        record({ body, problems: [], status, step: step.kind, ...tokens, usage });
        if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
        return send(
          res,
          200,
          JSON.stringify({
            id: id('msg'),
            type: 'message',
            role: 'assistant',
            model: request['model'],
            content,
            stop_reason: stopReason,
            stop_sequence: null,
            stop_details: null,
            container: null,
            usage: {
              ...usage,
              cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
              service_tier: 'standard',
            },
          }),
        );
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'api_error', `test server failure: ${String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...scripted) => void queue.push(...scripted),
    pending: () => queue.length,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      cachedPrefixes.clear();
      issued.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }).finally(() => tokenizer.free()),
  };
}
