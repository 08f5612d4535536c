import { z } from 'zod';

/**
 * Alertmanager webhook payload, version "4" (what `webhook_configs` sends).
 * Label and annotation values are untrusted text: bounded here, never interpreted as instructions.
 */
const MAX_LABEL_VALUE = 4096;
const labelMap = z.record(z.string().max(256), z.string().max(MAX_LABEL_VALUE));

export const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: labelMap.default({}),
  startsAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().max(128).optional(),
});

export const AlertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().max(8192),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(512),
  groupLabels: labelMap.default({}),
  commonLabels: labelMap.default({}),
  commonAnnotations: labelMap.default({}),
  externalURL: z.string().max(4096).optional(),
  alerts: z.array(AlertSchema),
});

export type Alert = z.infer<typeof AlertSchema>;
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

export type ParseResult =
  | { readonly ok: true; readonly payload: AlertmanagerPayload }
  | { readonly ok: false; readonly status: 400 | 413 | 422; readonly error: string };

/** Parses a raw body; every failure names what was wrong, so Alertmanager's logs are useful. */
export function parseAlertmanagerBody(body: string, limits: { maxBytes: number; maxAlerts: number }): ParseResult {
  if (Buffer.byteLength(body, 'utf8') > limits.maxBytes) {
    return { ok: false, status: 413, error: `payload larger than ${limits.maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, error: 'body is not valid JSON' };
  }
  const parsed = AlertmanagerPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, status: 422, error: `not an Alertmanager v4 payload: ${first.join('; ')}` };
  }
  if (parsed.data.alerts.length > limits.maxAlerts) {
    return { ok: false, status: 413, error: `more than ${limits.maxAlerts} alerts in one payload` };
  }
  return { ok: true, payload: parsed.data };
}
