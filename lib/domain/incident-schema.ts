import * as z from '../util/schema.js';
import { SYMPTOMS, type Incident } from './types.js';

export { SYMPTOMS };

export const SymptomSchema = z.enum(SYMPTOMS);

/** Kinds that live outside namespaces: their incidents carry an empty namespace. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set(['Node', 'PersistentVolume', 'Namespace']);

/** Queue messages are an entry point too: validated before the worker touches the cluster. */
const name = z.string().check(z.minLength(1), z.maxLength(253));
export const IncidentSchema = z.object({
  id: z.string().check(z.regex(/^[a-f0-9]{32}$/)),
  cluster: z.string().check(z.minLength(1), z.maxLength(100)),
  source: z.enum(['alertmanager', 'scan']),
  symptom: SymptomSchema,
  subject: z
    .object({ kind: z.string().check(z.minLength(1), z.maxLength(63)), name, namespace: z.string().check(z.maxLength(253)), uid: z.optional(z.string().check(z.maxLength(64))) })
    .check(z.refine((s) => (s.namespace === '') === CLUSTER_SCOPED_KINDS.has(s.kind), {
      message: 'namespace must be empty exactly for cluster-scoped kinds (Node)',
      path: ['namespace'],
    })),
  alertname: z.optional(z.string().check(z.maxLength(256))),
  severity: z.string().check(z.maxLength(64)),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  detectedAt: z.string().check(z.maxLength(64)),
});

export function parseIncident(json: string): { ok: true; incident: Incident } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, error: 'message body is not JSON' };
  }
  return parseIncidentValue(value);
}

export function parseIncidentValue(value: unknown): { ok: true; incident: Incident } | { ok: false; error: string } {
  const parsed = IncidentSchema.safeParse(value);
  return parsed.success
    ? { ok: true, incident: parsed.data }
    : { ok: false, error: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}
