import * as z from '../util/schema.js';
import { ACTION_IDS, type ActionId, type Diagnosis, type DiagnosisCategory, type Evidence, type ObjectRef, type Recommendation } from '../domain/types.js';
import { ACTIONS } from '../actions/catalog.js';

/**
 * The model's verdict: the only shape a model answer may take. The schema is shown to the model
 * (as the submit_verdict tool's input_schema) but never trusted: validateVerdict re-checks every
 * field, the closed list of recommendations and the target against the incident's owner chain.
 */

export const RECOMMENDATIONS = [...ACTION_IDS, 'page', 'none'] as const satisfies readonly Recommendation[];

export const CATEGORIES = [
  'transient-crash',
  'bad-release',
  'oom',
  'image-pull',
  'config-error',
  'already-healthy',
  'unknown',
] as const satisfies readonly DiagnosisCategory[];
// Compile-time guard: a category added to the domain type must be added here too.
type MissingCategory = Exclude<DiagnosisCategory, (typeof CATEGORIES)[number]>;
const categoriesComplete: MissingCategory extends never ? true : MissingCategory = true;
void categoriesComplete;

/** Caps on model-written text: it ends up in audit entries and pages, never unbounded. */
export const VERDICT_LIMITS = {
  summary: 300,
  rootCause: 1200,
  evidenceItem: 300,
  evidenceItems: 12,
  kind: 63,
  name: 253,
  namespace: 63,
} as const;

/** Which object kinds each action may be aimed at; anything else is refused even inside the chain. */
export const ACTION_TARGET_KINDS: Readonly<Record<ActionId, readonly string[]>> = Object.fromEntries(
  ACTION_IDS.map((id) => [id, ACTIONS[id].targetKinds]),
) as Record<ActionId, readonly string[]>;

// Text of 1..max characters; `.check(z.describe(...))` is classic zod's `.describe(...)` (the
// description lands in the JSON schema the model reads).
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const TargetSchema = z.strictObject({
  kind: text(VERDICT_LIMITS.kind).check(z.describe('Kind of an object from the allowed targets, e.g. Pod')),
  name: text(VERDICT_LIMITS.name),
  namespace: z.optional(text(VERDICT_LIMITS.namespace)),
});

export const VerdictSchema = z.strictObject({
  summary: text(VERDICT_LIMITS.summary).check(z.describe('One line: what is wrong.')),
  rootCause: text(VERDICT_LIMITS.rootCause).check(z.describe('The most likely cause, grounded in the evidence.')),
  category: z.enum(CATEGORIES),
  confidence: z.number().check(z.gte(0), z.lte(1), z.describe('0..1, how sure the evidence makes you.')),
  evidenceCited: z
    .array(text(VERDICT_LIMITS.evidenceItem))
    .check(z.maxLength(VERDICT_LIMITS.evidenceItems), z.describe('Short quotes or facts from the evidence that support the verdict.')),
  restartCanHelp: z.boolean().check(z.describe('Whether the proposed action (recreating pods, scaling, deleting the Job, cordoning the node) can plausibly fix it.')),
  recommendation: z.enum(RECOMMENDATIONS).check(z.describe('An action id, or page (a human must look), or none.')),
  target: z.nullish(TargetSchema).check(z.describe('Required for an action: one object from the allowed targets.')),
  parameters: z
    .nullish(z.strictObject({ replicas: z.optional(z.number().check(z.int(), z.gte(1), z.lte(10_000))) }))
    .check(z.describe('Only for scale-deployment: {"replicas": the new count}. Omit for every other action.')),
});

export type Verdict = z.infer<typeof VerdictSchema>;

/** JSON Schema of the verdict, for the tool's input_schema (no $schema key: the API wants a bare object schema). */
export const verdictJsonSchema: { type: 'object'; [key: string]: unknown } = (() => {
  const schema = { ...(z.toJSONSchema(VerdictSchema) as Record<string, unknown>) };
  delete schema['$schema'];
  if (schema['type'] !== 'object') throw new Error('verdict JSON schema must be an object schema');
  return schema as { type: 'object'; [key: string]: unknown };
})();

export type VerdictResult =
  | { readonly ok: true; readonly diagnosis: Diagnosis }
  | { readonly ok: false; readonly reason: string };

// C0/C1 controls (except tab and newline) and bidi overrides: they can disguise text in a page.
const UNSAFE_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
const clean = (s: string): string => s.replace(UNSAFE_CHARS, '').trim();

/** Quotes a model-supplied value for a rejection reason without letting it run long. */
const quote = (value: unknown): string => {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
};

const isAction = (r: Recommendation): r is ActionId => (ACTION_IDS as readonly string[]).includes(r);

/** The chain entry the target names, or undefined. Kind compares case-insensitively; name and namespace exactly. */
function findInChain(target: { kind: string; name: string; namespace?: string | undefined }, chain: readonly ObjectRef[]): ObjectRef | undefined {
  const matches = chain.filter(
    (ref) =>
      ref.kind.toLowerCase() === target.kind.toLowerCase() &&
      ref.name === target.name &&
      (target.namespace === undefined || ref.namespace === target.namespace),
  );
  // An omitted namespace must still name exactly one object.
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Validates an untrusted model answer against the schema, the closed list of recommendations and
 * the incident's owner chain. Pure. On success the target is replaced by the canonical chain entry.
 */
export function validateVerdict(raw: unknown, evidence: Evidence): VerdictResult {
  const parsed = VerdictSchema.safeParse(raw);
  if (!parsed.success) {
    // Report the recommendation plainly when that is what failed: it is the interesting refusal.
    const rec = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['recommendation'] : undefined;
    if (rec !== undefined && !(RECOMMENDATIONS as readonly unknown[]).includes(rec)) {
      return { ok: false, reason: `recommendation ${quote(rec)} is not in the allowed list (${RECOMMENDATIONS.join(', ')})` };
    }
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `verdict does not match the schema: ${issues.join('; ')}` };
  }
  const v = parsed.data;

  const summary = clean(v.summary);
  const rootCause = clean(v.rootCause);
  if (summary === '' || rootCause === '') return { ok: false, reason: 'summary and rootCause must contain text' };
  const evidenceCited = v.evidenceCited.map(clean).filter((s) => s !== '');

  let target: ObjectRef | undefined;
  if (v.target) {
    const found = findInChain(v.target, evidence.ownerChain);
    if (!found) {
      return {
        ok: false,
        reason: `target ${quote(`${v.target.kind}/${v.target.namespace ?? ''}/${v.target.name}`)} is not in the incident's owner chain`,
      };
    }
    target = found;
  }

  if (isAction(v.recommendation)) {
    if (!target) return { ok: false, reason: `recommendation ${v.recommendation} needs a target from the owner chain` };
    const kinds = ACTION_TARGET_KINDS[v.recommendation];
    if (!kinds.includes(target.kind)) {
      return { ok: false, reason: `${v.recommendation} cannot target a ${target.kind} (allowed: ${kinds.join(', ')})` };
    }
  }
  // Each action's own schema decides its parameters; parameters without an action are refused too.
  const rawParameters = Object.fromEntries(Object.entries(v.parameters ?? {}).filter(([, value]) => value !== undefined)) as Record<string, number>;
  let parameters: Record<string, number> | undefined;
  if (isAction(v.recommendation)) {
    const checked = ACTIONS[v.recommendation].parameters.safeParse(rawParameters);
    if (!checked.success) {
      return { ok: false, reason: `parameters for ${v.recommendation} are invalid: ${checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
    }
    parameters = Object.keys(checked.data).length > 0 ? { ...checked.data } : undefined;
  } else if (Object.keys(rawParameters).length > 0) {
    return { ok: false, reason: `parameters are only valid with an action, not with ${v.recommendation}` };
  }

  const diagnosis: Diagnosis = {
    diagnoser: 'claude',
    summary,
    rootCause,
    category: v.category,
    confidence: v.confidence,
    restartCanHelp: v.restartCanHelp,
    recommendation: v.recommendation,
    ...(target ? { target } : {}),
    ...(parameters ? { parameters } : {}),
    evidenceCited,
  };
  return { ok: true, diagnosis };
}
