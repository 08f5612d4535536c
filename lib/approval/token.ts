import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ActionPlan } from '../actions/plan.js';

/**
 * Approval links: `<id>.<expiresAtMs>.<signature>`, the signature an HMAC-SHA256 (server-side key)
 * over the id, the expiry and a digest of exactly what is approved (incident, cluster, plan with
 * target uid and resourceVersion). The approved content lives in the state table under the id;
 * the link carries no plan, so it is short, and any change to the id, the expiry or the stored
 * content breaks the signature. Pure functions; the key never leaves the process.
 */

const VERSION = 'v1';
const ID = /^[a-f0-9]{32}$/;

export interface ApprovalSubject {
  readonly incidentId: string;
  readonly cluster: string;
  readonly plan: ActionPlan;
}

/** Canonical JSON (sorted keys, no undefined) so the digest does not depend on property order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function approvalDigest(subject: ApprovalSubject): string {
  return createHash('sha256').update(canonical({ incidentId: subject.incidentId, cluster: subject.cluster, plan: subject.plan })).digest('base64url');
}

function mac(key: Uint8Array, id: string, expiresAtMs: number, digest: string): Buffer {
  return createHmac('sha256', key).update(`${VERSION}.${id}.${expiresAtMs}.${digest}`).digest();
}

export function signApproval(key: Uint8Array, id: string, expiresAtMs: number, digest: string): string {
  if (!ID.test(id)) throw new Error('approval id must be 32 hex characters');
  return `${id}.${expiresAtMs}.${mac(key, id, expiresAtMs, digest).toString('base64url')}`;
}

export interface ParsedToken {
  readonly id: string;
  readonly expiresAtMs: number;
  readonly signature: Buffer;
}

/** Shape only (nothing is trusted yet): the id to look up, the claimed expiry, the signature. */
export function parseApprovalToken(token: unknown): ParsedToken | undefined {
  if (typeof token !== 'string' || token.length > 200) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [id, expiry, signature] = parts as [string, string, string];
  if (!ID.test(id) || !/^\d{1,16}$/.test(expiry) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return undefined;
  return { id, expiresAtMs: Number(expiry), signature: Buffer.from(signature, 'base64url') };
}

export type TokenCheck = { readonly ok: true } | { readonly ok: false; readonly reason: 'tampered' | 'expired' };

/** Signature first (constant time), then expiry: an altered expiry is tampering, not expiry. */
export function checkApprovalToken(key: Uint8Array, token: ParsedToken, digest: string, nowMs: number): TokenCheck {
  const expected = mac(key, token.id, token.expiresAtMs, digest);
  if (expected.length !== token.signature.length || !timingSafeEqual(expected, token.signature)) return { ok: false, reason: 'tampered' };
  return nowMs < token.expiresAtMs ? { ok: true } : { ok: false, reason: 'expired' };
}
