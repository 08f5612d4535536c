/**
 * Conditional writes that stay true to themselves under the SDK's retries. The clients retry a
 * request whose answer timed out (lib/adapters/aws-clients.ts); when the first try was applied
 * and only its answer was lost, the retry meets its own item and its condition fails: a claim
 * would count as lost, an append as a conflict. Each write carries a fresh `writeId`, and the
 * condition also admits the item that very write left (same body, same id). Another writer's id
 * never matches, so exclusivity holds.
 */
import { randomUUID } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export const WRITE_ID = 'writeId';

export interface RetrySafeCondition {
  /** Goes into the item (put) or is SET (update), so a retry can recognize its own write. */
  readonly writeId: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, AttributeValue>;
}

/**
 * `condition OR writeId = :writeId`. `names` and `values` are the condition's own; `values` must
 * not be marshalled yet.
 */
export function retrySafe(condition: string, names: Record<string, string> = {}, values: Record<string, unknown> = {}): RetrySafeCondition {
  const writeId = randomUUID();
  return {
    writeId,
    ConditionExpression: `(${condition}) OR #writeId = :writeId`,
    ExpressionAttributeNames: { ...names, '#writeId': WRITE_ID },
    ExpressionAttributeValues: marshall({ ...values, ':writeId': writeId }),
  };
}
