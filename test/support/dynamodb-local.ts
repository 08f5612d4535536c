// Moved to lib/local/dynamodb-local.ts: the local run and the CLI use it too, and nothing outside test/ imports from test/.
export * from '../../lib/local/dynamodb-local.js';

/**
 * A test clock for items with a TTL, in the future on purpose: items carry a TTL (expiresAt)
 * computed from it, and DynamoDB Local's TTL sweeper really deletes expired items at random
 * moments; a past clock made conditional writes "win" again whenever the sweeper had removed the
 * item mid-test. Whole days: the rate-limit windows are fixed and aligned to the epoch.
 */
export function ttlSafeNow(): number {
  return Math.ceil((Date.now() + 24 * 3600 * 1000) / 86_400_000) * 86_400_000;
}
