/**
 * Defensive readers: snapshots may be partial or malformed (tests feed arbitrary objects), and a
 * detector that throws would hide every other finding of the scan.
 */
import type { FactValue } from './finding.js';
import type { Condition } from './snapshot.js';

const MAX_TEXT = 128;

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The object elements of an array, or nothing. */
export function items<T extends object>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? (value as unknown[]).filter(isObject) as unknown as T[] : [];
}

export const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

// DNS-1123 subdomain (object names) and a CamelCase kind: anything else is not from the API server,
// and subjects travel on into incidents, prompts and pages.
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
export const k8sName = (value: unknown): string | undefined => (typeof value === 'string' && NAME.test(value) ? value : undefined);
export const k8sUid = (value: unknown): string | undefined => (typeof value === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(value) ? value : undefined);
export const k8sKind = (value: unknown): string | undefined => (typeof value === 'string' && KIND.test(value) ? value : undefined);

/** A bounded string for reasons and facts (cluster-written values can be long). */
export const text = (value: unknown): string | undefined => str(value)?.slice(0, MAX_TEXT);

export const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

export function timeMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whole seconds from `fromMs` to `nowMs` (negative in the future). */
export const secondsSince = (fromMs: number, nowMs: number): number => Math.floor((nowMs - fromMs) / 1000);

export function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return items(conditions).find((c) => c.type === type);
}

/** Drops undefined values so facts stay string | number | boolean. */
export function facts(entries: Record<string, FactValue | undefined>): Record<string, FactValue> {
  const out: Record<string, FactValue> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) out[key] = value;
  }
  return out;
}

/** Bounded comma-joined list of names for facts. */
export function names(values: readonly (string | undefined)[], max = 10): string {
  const present = values.filter((v): v is string => v !== undefined).map((v) => v.slice(0, 63));
  return present.length > max ? `${present.slice(0, max).join(',')},+${present.length - max}` : present.join(',');
}
