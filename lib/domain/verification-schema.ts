import * as z from '../util/schema.js';
import { ACTION_IDS } from './types.js';

/**
 * A verification re-check, sent to the worker's own queue with a delay after an action, so the
 * Lambda never sleeps waiting for a rollout. It carries ids only: what was done (plan, target,
 * counts) is read back from the state table, where only the healer writes. A forged or replayed
 * message can at most ask for a re-check of an action the healer really took.
 */
export interface VerificationRequest {
  readonly type: 'verify';
  readonly incidentId: string;
  /** The random id the action was recorded under: unguessable, so a forged message finds nothing. */
  readonly actionId: string;
  /** 1 for the first delayed check. */
  readonly attempt: number;
}

const name = z.string().check(z.minLength(1), z.maxLength(253));
const ref = z.object({ kind: z.string().check(z.minLength(1), z.maxLength(63)), name, namespace: z.optional(z.string().check(z.maxLength(253))), uid: z.optional(z.string().check(z.maxLength(64))) });

/** A stored plan, checked again when read back (the table is the healer's, but a read is still input). */
export const ActionPlanSchema = z.object({
  action: z.enum(ACTION_IDS),
  target: ref,
  resourceVersion: z.optional(z.string().check(z.maxLength(64))),
  parameters: z.record(z.string(), z.number()),
  fromReplicas: z.optional(z.number().check(z.int(), z.gte(0))),
  watch: z.optional(ref),
  summary: z.string().check(z.maxLength(600)),
});

export function isVerificationMessage(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'verify';
}

const VerificationRequestSchema = z.strictObject({
  type: z.literal('verify'),
  incidentId: z.string().check(z.minLength(1), z.maxLength(512)),
  actionId: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  attempt: z.number().check(z.int(), z.gte(1), z.lte(1000)),
});

/** Strict: a message with anything beyond the ids (an inline plan, say) is refused, not half-read. */
export function parseVerificationRequest(value: unknown): { ok: true; request: VerificationRequest } | { ok: false; error: string } {
  const shape = VerificationRequestSchema.safeParse(value);
  if (!shape.success) return { ok: false, error: shape.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, request: shape.data };
}
