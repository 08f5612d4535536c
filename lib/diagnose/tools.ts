import * as z from '../util/schema.js';
import type { EventEvidence, ObjectRef } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { truncateLog } from '../evidence/budget.js';
import type { Investigator, NamespacedRef } from '../ports/investigator.js';
import type { ModelTool } from '../ports/model-client.js';
import { neutraliseDelimiters, VERDICT_TOOL_NAME } from './prompt.js';
import { allowedList, describeRef, resolveInScope, type InvestigationScope } from './scope.js';
import { verdictJsonSchema } from './verdict.js';

/**
 * The model's tools, one record each: name, input schema, description, scope (what a call may
 * read, decided from the incident and never from the model) and run (the read, through the
 * Investigator port). The definitions the model sees are derived from these records. What runs
 * a call (refusals, timeout, redaction, byte budget, the untrusted-data wrapper) is
 * lib/diagnose/investigation.ts; the records only say what to read and whether it may be read.
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

/** A call's scope check: what to read and the header the model sees above it, or why not (our words). */
export type Scoped<T> = { readonly header: string; readonly target: T } | { readonly refused: string };

export interface ToolRecord<I, T> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodMiniType<I>;
  /** Pure. Only the incident's pod, its owner chain and the pod's node are ever in scope. */
  readonly scope: (input: I, scope: InvestigationScope) => Scoped<T>;
  /** Reads what scope allowed. The text is cluster text: the caller redacts, bounds and wraps it. */
  readonly run: (target: T, investigator: Investigator, limits: { readonly resultBytes: number }) => Promise<string>;
}

/** A tool with its types erased, for the one table: parse, then scope, then (maybe) run. */
export interface InvestigationTool {
  readonly name: string;
  readonly definition: ModelTool;
  /** The schema's issues, a refusal, or the read to make. */
  plan(input: unknown, scope: InvestigationScope): { readonly issues: readonly string[] } | { readonly refused: string } | PlannedRun;
}

export interface PlannedRun {
  readonly header: string;
  readonly run: (investigator: Investigator, limits: { readonly resultBytes: number }) => Promise<string>;
}

const jsonSchema = (schema: z.ZodMiniType): ModelTool['input_schema'] => {
  const out = { ...(z.toJSONSchema(schema) as Record<string, unknown>) };
  delete out['$schema'];
  if (out['type'] !== 'object') throw new Error('tool input schemas must be object schemas');
  return out as ModelTool['input_schema'];
};

function tool<I, T>(record: ToolRecord<I, T>): InvestigationTool {
  return {
    name: record.name,
    definition: { name: record.name, description: record.description, input_schema: jsonSchema(record.input) },
    plan(input, scope) {
      const parsed = record.input.safeParse(input);
      if (!parsed.success) return { issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`) };
      const scoped = record.scope(parsed.data, scope);
      if ('refused' in scoped) return scoped;
      return { header: scoped.header, run: (investigator, limits) => record.run(scoped.target, investigator, limits) };
    },
  };
}

/** A model-supplied value quoted in our own text: short, redacted, unable to open or close a data block. */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return neutraliseDelimiters(redact(JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)));
}

function eventLines(events: readonly EventEvidence[]): string {
  if (events.length === 0) return '(no events)';
  return events.map((e) => `${e.lastSeen ?? '-'} ${e.type} ${e.reason} (x${e.count}): ${e.message}`).join('\n');
}

const json = (value: unknown): string => JSON.stringify(value, null, 1);

// `.check(z.describe(...))` is classic zod's `.describe(...)`: the text the model reads in the JSON schema.
const Ref = z.strictObject({
  kind: z.string().check(z.minLength(1), z.maxLength(63), z.describe('Kind of an object from the allowed targets, or Node for the pod\'s node')),
  name: z.string().check(z.minLength(1), z.maxLength(253)),
  namespace: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
});

/** events and describe_owner: one object of the owner chain, or the pod's node. */
function inChain(input: z.infer<typeof Ref>, scope: InvestigationScope, header: (target: ObjectRef) => string): Scoped<ObjectRef> {
  const target = resolveInScope(input, scope);
  if (!target) {
    return { refused: `${quote(`${input.kind}/${input.namespace ? `${input.namespace}/` : ''}${input.name}`)} is not in this incident's owner chain or the pod's node; allowed: ${allowedList(scope)}` };
  }
  return { header: header(target), target };
}

const moreLogs = tool({
  name: 'more_logs',
  description: 'Read more of a container log of the incident\'s pod: the previous (crashed) container or the current one. Read-only.',
  input: z.strictObject({
    container: z.string().check(z.minLength(1), z.maxLength(63), z.describe('A container of the incident\'s pod (see pod-status)')),
    which: z.enum(['previous', 'current']).check(z.describe('previous: the last terminated container; current: the running one')),
    lines: z.optional(z.number().check(z.int(), z.gte(1), z.lte(INVESTIGATION_LIMITS.maxLogLines)))
      .check(z.describe(`Lines from the end of the log (default ${INVESTIGATION_LIMITS.defaultLogLines})`)),
  }),
  scope: (input, scope): Scoped<{ pod: NamespacedRef; container: string; previous: boolean; lines: number }> => {
    const pod = scope.pod;
    if (!pod) return { refused: 'the incident\'s subject is not a pod that exists, so there are no logs to read' };
    if (!scope.containers.includes(input.container)) {
      return { refused: `container ${quote(input.container)} is not a container of ${describeRef(pod)} (containers: ${scope.containers.join(', ') || 'none known'})` };
    }
    const lines = Math.min(input.lines ?? INVESTIGATION_LIMITS.defaultLogLines, INVESTIGATION_LIMITS.maxLogLines);
    return {
      header: `Log of container ${input.container} of ${describeRef(pod)} (${input.which} instance), last ${lines} lines at most:`,
      target: { pod, container: input.container, previous: input.which === 'previous', lines },
    };
  },
  // Redacted whole first, then cut to the tail: a cut can hide text, never uncover a secret.
  run: async (t, investigator, { resultBytes }) =>
    truncateLog(redact(await investigator.podLog(t.pod, { container: t.container, previous: t.previous, tailLines: t.lines, limitBytes: INVESTIGATION_LIMITS.logReadBytes })), t.lines, resultBytes),
});

const events = tool({
  name: 'events',
  description: 'List recent events about one object of the allowed targets (or the pod\'s node). Read-only.',
  input: Ref,
  scope: (input, scope) => inChain(input, scope, (target) => `Events about ${describeRef(target)}, newest first:`),
  run: async (target, investigator) => eventLines(await investigator.events(target, INVESTIGATION_LIMITS.events)),
});

const describeOwner = tool({
  name: 'describe_owner',
  description: 'A compact description of one object of the allowed targets: spec and status that matter for diagnosis. Read-only.',
  input: Ref,
  scope: (input, scope) => inChain(input, scope, (target) => `Description of ${describeRef(target)}:`),
  run: async (target, investigator) => json(await investigator.describe(target)),
});

const rolloutDiff = tool({
  name: 'rollout_diff',
  description: 'The owning Deployment\'s revisions (images, readiness) and what the pod\'s revision changed against the one before. Read-only.',
  input: z.strictObject({}),
  scope: (_input, scope): Scoped<{ deployment: NamespacedRef; replicaSet: string }> => {
    const deployment = scope.chain.find((o) => o.kind === 'Deployment');
    const replicaSet = scope.chain.find((o) => o.kind === 'ReplicaSet');
    if (!deployment?.namespace || !replicaSet) return { refused: 'the owner chain has no ReplicaSet owned by a Deployment, so there is no rollout to compare' };
    const ref = { kind: 'Deployment', name: deployment.name, namespace: deployment.namespace };
    return { header: `Rollout of ${describeRef(ref)} (the pod runs ReplicaSet ${replicaSet.name}):`, target: { deployment: ref, replicaSet: replicaSet.name } };
  },
  run: async (t, investigator) => json(await investigator.rollout(t.deployment, t.replicaSet)),
});

const node = tool({
  name: 'node',
  description: 'The pod\'s node: conditions, taints, capacity, kubelet version. Read-only.',
  input: z.strictObject({}),
  scope: (_input, scope): Scoped<string> => (scope.node ? { header: `Node ${scope.node}:`, target: scope.node } : { refused: 'the incident\'s pod is not bound to a node' }),
  run: async (name, investigator) => json(await investigator.node(name)),
});

/** The one table of investigation tools, in the order the model sees them. */
export const TOOLS: readonly InvestigationTool[] = [moreLogs, events, describeOwner, rolloutDiff, node];

export const INVESTIGATION_TOOL_NAMES: readonly string[] = TOOLS.map((t) => t.name);

/** The tool definitions sent to the model; static, so they are prompt-cached with the system prompt. */
export const INVESTIGATION_TOOLS: readonly ModelTool[] = TOOLS.map((t) => t.definition);

export const toolNamed = (name: string): InvestigationTool | undefined => TOOLS.find((t) => t.name === name);

/** The verdict tool: how every diagnosis answers. Its input is validated by lib/diagnose/verdict.ts. */
export const VERDICT_TOOL: ModelTool = {
  name: VERDICT_TOOL_NAME,
  description:
    'Submit your diagnosis of the incident. Call exactly once. The input is validated by code: a ' +
    'recommendation outside the allowed list, or a target outside the allowed targets, is rejected.',
  input_schema: verdictJsonSchema,
};
