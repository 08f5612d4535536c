import * as z from '../util/schema.js';

/**
 * Alertmanager webhook payload, version "4" (what `webhook_configs` sends), in full:
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 *
 * Label and annotation values are untrusted text: every string, map and list is bounded here,
 * and nothing in them is ever interpreted as an instruction.
 */
export const LIMITS = Object.freeze({
  labelName: 256,
  labelValue: 4096,
  /** Keys per label or annotation map; real alerts carry a few dozen at most. */
  mapKeys: 256,
  url: 4096,
  groupKey: 8192,
  receiver: 512,
  timestamp: 64,
  fingerprint: 128,
});

const labelMap = z
  .record(z.string().check(z.maxLength(LIMITS.labelName)), z.string().check(z.maxLength(LIMITS.labelValue)))
  .check(z.refine((m) => Object.keys(m).length <= LIMITS.mapKeys, { message: `more than ${LIMITS.mapKeys} keys` }));
const status = z.enum(['firing', 'resolved']);

export const AlertSchema = z.object({
  status,
  labels: labelMap,
  annotations: z._default(labelMap, {}),
  startsAt: z.string().check(z.maxLength(LIMITS.timestamp)),
  endsAt: z.optional(z.string().check(z.maxLength(LIMITS.timestamp))),
  generatorURL: z.optional(z.string().check(z.maxLength(LIMITS.url))),
  fingerprint: z.optional(z.string().check(z.maxLength(LIMITS.fingerprint))),
});

export const AlertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().check(z.maxLength(LIMITS.groupKey)),
  truncatedAlerts: z.optional(z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER))),
  status,
  receiver: z.string().check(z.maxLength(LIMITS.receiver)),
  groupLabels: z._default(labelMap, {}),
  commonLabels: z._default(labelMap, {}),
  commonAnnotations: z._default(labelMap, {}),
  externalURL: z.optional(z.string().check(z.maxLength(LIMITS.url))),
  alerts: z.array(AlertSchema),
});

export type Alert = z.infer<typeof AlertSchema>;
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

export type ParseResult =
  | { readonly ok: true; readonly payload: AlertmanagerPayload }
  | { readonly ok: false; readonly status: 400 | 413 | 422; readonly error: string };

function issuePath(path: readonly PropertyKey[]): string {
  // Keys come from the sender: each is clipped, so an error message cannot be made huge.
  return path.map((p) => String(p).slice(0, 64)).join('.') || '(root)';
}

/**
 * Parses a raw body; every failure names what was wrong, so Alertmanager's logs are useful.
 * Never throws: any input yields a payload or a 4xx with a message.
 */
export function parseAlertmanagerBody(body: string, limits: { maxBytes: number; maxAlerts: number }): ParseResult {
  try {
    if (Buffer.byteLength(body, 'utf8') > limits.maxBytes) {
      return { ok: false, status: 413, error: `payload larger than ${limits.maxBytes} bytes` };
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, status: 400, error: 'body is not valid JSON' };
    }
    // Count before validating: a storm payload is refused without walking every alert.
    if (typeof json === 'object' && json !== null && Object.hasOwn(json, 'alerts')) {
      const alerts = (json as { alerts: unknown }).alerts;
      if (Array.isArray(alerts) && alerts.length > limits.maxAlerts) {
        return { ok: false, status: 413, error: `more than ${limits.maxAlerts} alerts in one payload` };
      }
    }
    const parsed = AlertmanagerPayloadSchema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues.slice(0, 5).map((i) => `${issuePath(i.path)}: ${i.message}`);
      return { ok: false, status: 422, error: `not an Alertmanager v4 payload: ${first.join('; ')}` };
    }
    return { ok: true, payload: parsed.data };
  } catch (error) {
    // Defence in depth (e.g. a stack overflow on pathological input): still a clear 4xx.
    return { ok: false, status: 422, error: `payload could not be validated: ${error instanceof Error ? error.name : 'error'}` };
  }
}
