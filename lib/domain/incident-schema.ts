import { z } from 'zod';
import type { Incident } from './types.js';

/** Queue messages are an entry point too: validated before the worker touches the cluster. */
const name = z.string().min(1).max(253);
export const IncidentSchema = z.object({
  id: z.string().regex(/^[a-f0-9]{32}$/),
  cluster: z.string().min(1).max(100),
  source: z.enum(['alertmanager', 'scan']),
  symptom: z.enum(['CrashLoopBackOff', 'OOMKilled', 'ImagePullBackOff', 'CreateContainerConfigError', 'PodNotReady', 'Unknown']),
  subject: z.object({ kind: z.string().min(1).max(63), name, namespace: name, uid: z.string().max(64).optional() }),
  alertname: z.string().max(256).optional(),
  severity: z.string().max(64),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  detectedAt: z.string().max(64),
});

export function parseIncident(json: string): { ok: true; incident: Incident } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, error: 'message body is not JSON' };
  }
  const parsed = IncidentSchema.safeParse(value);
  return parsed.success
    ? { ok: true, incident: parsed.data }
    : { ok: false, error: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}
