import * as z from '../util/schema.js';
import type { Evidence, EventEvidence, ObjectRef } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes, truncateLog } from '../evidence/budget.js';
import type { Investigator, NamespacedRef } from '../ports/investigator.js';
import { neutraliseDelimiters, toolResultText } from './prompt.js';

/**
 * The model's read-only investigation tools: their definitions, and the one function that runs a
 * call. Scope is decided here, not by the model and not by the adapter: a call may only name the
 * incident's pod, an object of its owner chain or the pod's node, and anything else is refused
 * before any cluster read. Every result is redacted, cut to a byte budget and wrapped as untrusted
 * data before it is sent.
 */

export const INVESTIGATION_LIMITS = {
  /** Most log lines one more_logs call may ask for. */
  maxLogLines: 500,
  defaultLogLines: 200,
  /** What is read from the API server for a log; the result is cut again to resultBytes. */
  logReadBytes: 64 * 1024,
  /** Bytes of cluster text in one tool result (about 1,500-2,000 tokens). */
  resultBytes: 6 * 1024,
  events: 30,
  /** Calls answered per step; further calls in the same step are refused. */
  callsPerStep: 4,
  toolTimeoutMs: 5000,
} as const;

// `.check(z.describe(...))` is classic zod's `.describe(...)`: the text the model reads in the JSON schema.
const Ref = z.strictObject({
  kind: z.string().check(z.minLength(1), z.maxLength(63), z.describe('Kind of an object from the allowed targets, or Node for the pod\'s node')),
  name: z.string().check(z.minLength(1), z.maxLength(253)),
  namespace: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
});

const SCHEMAS = {
  more_logs: z.strictObject({
    container: z.string().check(z.minLength(1), z.maxLength(63), z.describe('A container of the incident\'s pod (see pod-status)')),
    which: z.enum(['previous', 'current']).check(z.describe('previous: the last terminated container; current: the running one')),
    lines: z.optional(z.number().check(z.int(), z.gte(1), z.lte(INVESTIGATION_LIMITS.maxLogLines)))
      .check(z.describe(`Lines from the end of the log (default ${INVESTIGATION_LIMITS.defaultLogLines})`)),
  }),
  events: Ref,
  describe_owner: Ref,
  rollout_diff: z.strictObject({}),
  node: z.strictObject({}),
} as const;

export type InvestigationToolName = keyof typeof SCHEMAS;
export const INVESTIGATION_TOOL_NAMES = Object.keys(SCHEMAS) as readonly InvestigationToolName[];

const DESCRIPTIONS: Readonly<Record<InvestigationToolName, string>> = {
  more_logs: 'Read more of a container log of the incident\'s pod: the previous (crashed) container or the current one. Read-only.',
  events: 'List recent events about one object of the allowed targets (or the pod\'s node). Read-only.',
  describe_owner: 'A compact description of one object of the allowed targets: spec and status that matter for diagnosis. Read-only.',
  rollout_diff: 'The owning Deployment\'s revisions (images, readiness) and what the pod\'s revision changed against the one before. Read-only.',
  node: 'The pod\'s node: conditions, taints, capacity, kubelet version. Read-only.',
};

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input_schema: { readonly type: 'object'; readonly [key: string]: unknown };
}

const jsonSchema = (schema: z.ZodMiniType): ToolDefinition['input_schema'] => {
  const out = { ...(z.toJSONSchema(schema) as Record<string, unknown>) };
  delete out['$schema'];
  if (out['type'] !== 'object') throw new Error('tool input schemas must be object schemas');
  return out as ToolDefinition['input_schema'];
};

/** The tool definitions sent to the model; static, so they are prompt-cached with the system prompt. */
export const INVESTIGATION_TOOLS: readonly ToolDefinition[] = INVESTIGATION_TOOL_NAMES.map((name) => ({
  name,
  description: DESCRIPTIONS[name],
  input_schema: jsonSchema(SCHEMAS[name]),
}));

export const isInvestigationTool = (name: string): name is InvestigationToolName => Object.hasOwn(SCHEMAS, name);

/** What a diagnosis may look at: derived from the evidence, never from the model. */
export interface InvestigationScope {
  /** The incident's pod, when the subject is a pod that exists. */
  readonly pod?: NamespacedRef;
  /** Owner chain, subject first. */
  readonly chain: readonly ObjectRef[];
  readonly node?: string;
  readonly containers: readonly string[];
}

export function scopeOf(evidence: Evidence): InvestigationScope {
  const first = evidence.ownerChain[0];
  const pod = evidence.exists && first?.kind === 'Pod' && first.namespace ? { kind: 'Pod', name: first.name, namespace: first.namespace } : undefined;
  const node = evidence.nodeName ?? (evidence.subject.kind === 'Node' ? evidence.subject.name : undefined);
  return {
    ...(pod ? { pod } : {}),
    chain: evidence.ownerChain,
    ...(node ? { node } : {}),
    containers: evidence.containers.map((c) => c.name),
  };
}

/**
 * The object a call names, when it is in scope: one owner-chain entry (kind compared
 * case-insensitively, name and namespace exactly; an omitted namespace must still name exactly one
 * entry) or the pod's node. Pure.
 */
export function resolveInScope(ref: { kind: string; name: string; namespace?: string | undefined }, scope: InvestigationScope): ObjectRef | undefined {
  if (ref.kind.toLowerCase() === 'node') {
    return scope.node !== undefined && ref.name === scope.node && ref.namespace === undefined ? { kind: 'Node', name: scope.node } : undefined;
  }
  const matches = scope.chain.filter(
    (o) => o.kind.toLowerCase() === ref.kind.toLowerCase() && o.name === ref.name && (ref.namespace === undefined || o.namespace === ref.namespace),
  );
  return matches.length === 1 ? matches[0] : undefined;
}

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
}

const describeRef = (o: ObjectRef): string => `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** A model-supplied value quoted in our own text: short, redacted, unable to open or close a data block. */
function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return neutraliseDelimiters(redact(JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)));
}

/** A refusal: our words only, no read happened. */
export function refusal(text: string): ToolOutcome {
  return { text: `refused: ${text}`, isError: true, read: false };
}

function allowedList(scope: InvestigationScope): string {
  const refs = [...scope.chain.map(describeRef), ...(scope.node ? [`Node/${scope.node}`] : [])];
  return refs.length > 0 ? refs.join(', ') : '(none)';
}

/** A call that passed the checks: what to tell the model it is, and how to read it. */
export interface PlannedRead {
  readonly header: string;
  readonly fetch: () => Promise<string>;
}

function eventLines(events: readonly EventEvidence[]): string {
  if (events.length === 0) return '(no events)';
  return events.map((e) => `${e.lastSeen ?? '-'} ${e.type} ${e.reason} (x${e.count}): ${e.message}`).join('\n');
}

const json = (value: unknown): string => JSON.stringify(value, null, 1);

/** Checks a call against the schema and the scope; returns what to read, or a refusal. Pure. */
function parseInput<T>(name: string, schema: z.ZodMiniType<T>, input: unknown): T | ToolOutcome {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  return refusal(`input does not match the ${name} schema: ${quote(issues.join('; '))}`);
}

const isOutcome = (v: unknown): v is ToolOutcome => typeof v === 'object' && v !== null && 'isError' in v;

export function planToolCall(call: ToolCall, scope: InvestigationScope, investigator: Investigator, resultBytes: number): PlannedRead | ToolOutcome {
  if (!isInvestigationTool(call.name)) {
    return refusal(`there is no tool ${quote(call.name)}; the investigation tools are ${INVESTIGATION_TOOL_NAMES.join(', ')}`);
  }
  switch (call.name) {
    case 'more_logs': {
      const input = parseInput(call.name, SCHEMAS.more_logs, call.input);
      if (isOutcome(input)) return input;
      const pod = scope.pod;
      if (!pod) return refusal('the incident\'s subject is not a pod that exists, so there are no logs to read');
      if (!scope.containers.includes(input.container)) {
        return refusal(`container ${quote(input.container)} is not a container of ${describeRef(pod)} (containers: ${scope.containers.join(', ') || 'none known'})`);
      }
      const lines = Math.min(input.lines ?? INVESTIGATION_LIMITS.defaultLogLines, INVESTIGATION_LIMITS.maxLogLines);
      const previous = input.which === 'previous';
      return {
        header: `Log of container ${input.container} of ${describeRef(pod)} (${input.which} instance), last ${lines} lines at most:`,
        // Redacted whole first, then cut to the tail: a cut can hide text, never uncover a secret.
        fetch: async () => truncateLog(redact(await investigator.podLog(pod, { container: input.container, previous, tailLines: lines, limitBytes: INVESTIGATION_LIMITS.logReadBytes })), lines, resultBytes),
      };
    }
    case 'events':
    case 'describe_owner': {
      const input = parseInput(call.name, Ref, call.input);
      if (isOutcome(input)) return input;
      const target = resolveInScope(input, scope);
      if (!target) {
        return refusal(`${quote(`${input.kind}/${input.namespace ? `${input.namespace}/` : ''}${input.name}`)} is not in this incident's owner chain or the pod's node; allowed: ${allowedList(scope)}`);
      }
      if (call.name === 'events') {
        return { header: `Events about ${describeRef(target)}, newest first:`, fetch: async () => eventLines(await investigator.events(target, INVESTIGATION_LIMITS.events)) };
      }
      return { header: `Description of ${describeRef(target)}:`, fetch: async () => json(await investigator.describe(target)) };
    }
    case 'rollout_diff': {
      const checked = parseInput(call.name, SCHEMAS.rollout_diff, call.input);
      if (isOutcome(checked)) return checked;
      const deployment = scope.chain.find((o) => o.kind === 'Deployment');
      const replicaSet = scope.chain.find((o) => o.kind === 'ReplicaSet');
      if (!deployment?.namespace || !replicaSet) return refusal('the owner chain has no ReplicaSet owned by a Deployment, so there is no rollout to compare');
      const ref = { kind: 'Deployment', name: deployment.name, namespace: deployment.namespace };
      return { header: `Rollout of ${describeRef(ref)} (the pod runs ReplicaSet ${replicaSet.name}):`, fetch: async () => json(await investigator.rollout(ref, replicaSet.name)) };
    }
    case 'node': {
      const checked = parseInput(call.name, SCHEMAS.node, call.input);
      if (isOutcome(checked)) return checked;
      const node = scope.node;
      if (!node) return refusal('the incident\'s pod is not bound to a node');
      return { header: `Node ${node}:`, fetch: async () => json(await investigator.node(node)) };
    }
  }
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
    const body = await withTimeout(planned.fetch(), Math.max(1, options.timeoutMs));
    return { text: toolResultText(call.name, planned.header, truncateBytes(redact(body), resultBytes)), isError: false, read: true };
  } catch (error) {
    // API errors quote object names and server text: treat them as cluster text too.
    const message = error instanceof Error ? error.message : String(error);
    return { text: toolResultText(call.name, `Could not read (${call.name}):`, truncateBytes(redact(message), 600)), isError: true, read: true };
  }
}
