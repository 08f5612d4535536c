import { z } from 'zod';
import { ACTION_IDS, type Incident } from './types.js';
import type { ActionPlan } from '../actions/plan.js';
import { parseIncidentValue } from './incident-schema.js';

/**
 * A verification re-check, sent to the worker's own queue with a delay after an action, so the
 * Lambda never sleeps waiting for a rollout. Like an incident message it is an entry point and
 * is validated before anything is read.
 */
export interface VerificationJob {
  readonly type: 'verify';
  readonly incident: Incident;
  readonly plan: ActionPlan;
  /** When the action was accepted (ISO): verification judges elapsed time from here. */
  readonly actedAt: string;
  /** 1 for the first delayed check. */
  readonly attempt: number;
}

const name = z.string().min(1).max(253);
const ref = z.object({ kind: z.string().min(1).max(63), name, namespace: z.string().max(253).optional(), uid: z.string().max(64).optional() });

export const ActionPlanSchema = z.object({
  action: z.enum(ACTION_IDS),
  target: ref,
  resourceVersion: z.string().max(64).optional(),
  parameters: z.record(z.string(), z.number()),
  fromReplicas: z.number().int().min(0).optional(),
  watch: ref.optional(),
  summary: z.string().max(600),
});

export function isVerificationMessage(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'verify';
}

export function parseVerificationJob(value: unknown): { ok: true; job: VerificationJob } | { ok: false; error: string } {
  const shape = z.object({ type: z.literal('verify'), incident: z.unknown(), plan: ActionPlanSchema, actedAt: z.string().max(64), attempt: z.number().int().min(1).max(1000) }).safeParse(value);
  if (!shape.success) return { ok: false, error: shape.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const incident = parseIncidentValue(shape.data.incident);
  if (!incident.ok) return { ok: false, error: `incident: ${incident.error}` };
  return { ok: true, job: { type: 'verify', incident: incident.incident, plan: shape.data.plan, actedAt: shape.data.actedAt, attempt: shape.data.attempt } };
}
