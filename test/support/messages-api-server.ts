import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that speaks enough of the Anthropic Messages API
 * (POST /v1/messages, non-streaming) for the real @anthropic-ai/sdk: it checks the request shape,
 * answers 400/401/404 with the API's error body when something is wrong, plays a queue of
 * scripted replies, and records every request (headers and body) for assertions.
 *
 * Shapes follow platform.claude.com/docs/en/api/errors (error body: {type:'error', error:{type,
 * message}, request_id} plus a request-id header) and the SDK 1.x Message/Usage types.
 * Token counts are estimates (about 4 characters per token), not a real tokenizer.
 */

export interface UsageOut {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export type ScriptedStep = (
  | { readonly kind: 'tool-use'; readonly input: unknown; readonly name?: string; readonly thinking?: boolean; readonly text?: string }
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
  toolUse: (name: string, input: unknown): ScriptedStep => ({ kind: 'tool-use', name, input }),
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
  /** Estimated prompt tokens: whole prompt, and the cacheable prefix (tools + system). */
  readonly estimatedInputTokens?: number;
  readonly estimatedPrefixTokens?: number;
}

export interface MessagesApiServerOptions {
  /** When set, the key (x-api-key or Authorization: Bearer) must equal it. */
  readonly apiKey?: string;
  /** Prefixes shorter than this are not cached, as on the real API. */
  readonly minCacheableTokens?: number;
  /** Models that answer a forced tool_choice with a 400, as Claude Sonnet 5.5 does. */
  readonly rejectsForcedToolChoice?: (model: string) => boolean;
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
const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
const id = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

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
  const minCacheable = options.minCacheableTokens ?? 512;
  const rejectsForced = options.rejectsForcedToolChoice ?? (() => false);

  function usageFor(body: Record<string, unknown>): { usage: UsageOut; total: number; prefix: number } {
    const prefixText = JSON.stringify({ tools: body['tools'] ?? [], system: body['system'] ?? '' });
    const prefix = estimateTokens(prefixText);
    const total = prefix + estimateTokens(JSON.stringify(body['messages']));
    const controls: { path: string; value: unknown }[] = [];
    findCacheControls({ tools: body['tools'], system: body['system'] }, '', controls);
    let cacheRead = 0;
    let cacheWrite = 0;
    if (controls.length > 0 && prefix >= minCacheable) {
      const key = createHash('sha256').update(String(body['model'])).update(prefixText).digest('hex');
      if (cachedPrefixes.has(key)) cacheRead = prefix;
      else {
        cachedPrefixes.add(key);
        cacheWrite = prefix;
      }
    }
    return {
      usage: { input_tokens: total - cacheRead - cacheWrite, output_tokens: 0, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead },
      total,
      prefix,
    };
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
    const { usage, total, prefix } = usageFor(request);
    const step = queue.shift();
    if (!step) {
      record({ body, problems: [], status: 500, estimatedInputTokens: total, estimatedPrefixTokens: prefix });
      return sendError(res, 500, 'api_error', 'test server: no scripted reply queued', { 'x-should-retry': 'false' });
    }
    const status = step.kind === 'error' || step.kind === 'raw' ? step.status : step.kind === 'hang' ? 0 : 200;
    record({ body, problems: [], status, step: step.kind, estimatedInputTokens: total, estimatedPrefixTokens: prefix });
    if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));

    switch (step.kind) {
      case 'hang':
        return; // Never answers; the client's timeout must end it. close() drops the socket.
      case 'error':
        return sendError(res, step.status, step.errorType, step.message, step.headers);
      case 'raw':
        return send(res, step.status, step.body, step.headers);
      case 'text':
      case 'tool-use': {
        const content: unknown[] = [];
        let stopReason: string;
        if (step.kind === 'text') {
          if (step.text) content.push({ type: 'text', text: step.text, citations: null });
          stopReason = step.stopReason ?? 'end_turn';
        } else {
          if (step.thinking) content.push({ type: 'thinking', thinking: '', signature: id('sig') });
          if (step.text) content.push({ type: 'text', text: step.text, citations: null });
          content.push({ type: 'tool_use', id: id('toolu'), name: step.name ?? 'submit_verdict', input: step.input, caller: { type: 'direct' } });
          stopReason = 'tool_use';
        }
        const outputTokens = Math.max(1, estimateTokens(JSON.stringify(content)));
        const finalUsage = { ...usage, output_tokens: outputTokens, ...step.usage };
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
              ...finalUsage,
              cache_creation: { ephemeral_5m_input_tokens: finalUsage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
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
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
