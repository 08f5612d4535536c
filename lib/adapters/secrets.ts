/**
 * SecureString parameters from SSM, decrypted, cached per Lambda container for a few minutes:
 * warm invocations skip the call, and a rotated secret is picked up within the TTL.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ssmClient } from './aws-clients.js';

export const SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

type CacheEntry = { readonly value: Promise<string>; readonly expiresAtMs: number };
const cache = new Map<string, CacheEntry>();

export interface ReadSecretOptions {
  readonly client?: SSMClient;
  readonly ttlMs?: number;
  readonly nowMs?: number;
}

export class SecretNotFoundError extends Error {
  constructor(readonly parameterName: string) {
    super(`SSM parameter ${parameterName} has no value`);
    this.name = 'SecretNotFoundError';
  }
}

/** Reads and decrypts one parameter; concurrent callers share one in-flight request. */
export function readSecret(name: string, options: ReadSecretOptions = {}): Promise<string> {
  const now = options.nowMs ?? Date.now();
  const hit = cache.get(name);
  if (hit !== undefined && hit.expiresAtMs > now) return hit.value;

  const client = options.client ?? ssmClient();
  const value = client
    .send(new GetParameterCommand({ Name: name, WithDecryption: true }))
    .then((result) => {
      const text = result.Parameter?.Value;
      if (text === undefined) throw new SecretNotFoundError(name);
      return text;
    });
  cache.set(name, { value, expiresAtMs: now + (options.ttlMs ?? SECRET_CACHE_TTL_MS) });
  // A failure must not stay cached: the next invocation tries again.
  value.catch(() => {
    if (cache.get(name)?.value === value) cache.delete(name);
  });
  return value;
}

export function clearSecretCache(): void {
  cache.clear();
}
