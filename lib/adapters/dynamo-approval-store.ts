import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ApprovalRecord, ApprovalStore } from '../ports/index.js';
import { dynamoDbClient } from './aws-clients.js';
import { stateKeys } from './tables.js';
import { isConditionalCheckFailed } from './dynamo-state-store.js';
import { retrySafe, WRITE_ID } from './retry-safe-write.js';

/** How long a used or expired approval is kept after its expiry, so a late replay is recognised as one. */
const KEEP_AFTER_EXPIRY_SECONDS = 7 * 24 * 3600;

/**
 * Approvals in the state table (`approval#<id>`). Created with a condition so an id is never
 * reused; consumed with a conditional update (pending and unexpired -> used), so a link works
 * exactly once however often it is clicked.
 */
export class DynamoApprovalStore implements ApprovalStore {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;

  constructor(options: { readonly tableName: string; readonly client?: DynamoDBClient }) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
  }

  async create(record: Omit<ApprovalRecord, 'status'>): Promise<void> {
    const expiresAt = Math.ceil(record.expiresAtMs / 1000) + KEEP_AFTER_EXPIRY_SECONDS;
    const { writeId, ...firstOnly } = retrySafe('attribute_not_exists(pk)');
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(
          {
            pk: stateKeys.approval(record.id),
            id: record.id,
            digest: record.digest,
            requestedAtMs: record.requestedAtMs,
            expiresAtMs: record.expiresAtMs,
            status: 'pending',
            untilMs: record.expiresAtMs,
            expiresAt,
            [WRITE_ID]: writeId,
            // The approved content as one JSON string: read back byte for byte, digest and all.
            body: JSON.stringify({ incident: record.incident, diagnosis: record.diagnosis, plan: record.plan }),
          },
          { removeUndefinedValues: true },
        ),
        ...firstOnly,
      }),
    );
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: stateKeys.approval(id) }), ConsistentRead: true }));
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item) as Record<string, unknown>;
    const body = JSON.parse(String(item['body'])) as Pick<ApprovalRecord, 'incident' | 'diagnosis' | 'plan'>;
    return {
      id: String(item['id']),
      incident: body.incident,
      diagnosis: body.diagnosis,
      plan: body.plan,
      digest: String(item['digest']),
      requestedAtMs: Number(item['requestedAtMs']),
      expiresAtMs: Number(item['expiresAtMs']),
      status: item['status'] === 'used' ? 'used' : 'pending',
      ...(item['usedBy'] ? { usedBy: item['usedBy'] as Record<string, string> } : {}),
      ...(typeof item['usedAtMs'] === 'number' ? { usedAtMs: item['usedAtMs'] } : {}),
    };
  }

  async consume(id: string, usedBy: Readonly<Record<string, string>>, nowMs: number): Promise<boolean> {
    // The consuming write's id is SET with it: a retry of a consume that was applied (its answer
    // lost) still wins, and a second click's fresh id never does.
    const once = retrySafe('attribute_exists(pk) AND #status = :pending AND #until > :now', { '#status': 'status', '#until': 'untilMs' }, { ':used': 'used', ':pending': 'pending', ':by': usedBy, ':now': nowMs });
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: stateKeys.approval(id) }),
          UpdateExpression: 'SET #status = :used, usedBy = :by, usedAtMs = :now, #writeId = :writeId',
          ConditionExpression: once.ConditionExpression,
          ExpressionAttributeNames: once.ExpressionAttributeNames,
          ExpressionAttributeValues: once.ExpressionAttributeValues,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      // Every try's answer lost (or a failure after the write): the link may be used up by this
      // very click. Read it back; if it carries our id, the click counts, else the error stands.
      if (await this.consumedWith(id, once.writeId).catch(() => false)) return true;
      throw error;
    }
  }

  private async consumedWith(id: string, writeId: string): Promise<boolean> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: stateKeys.approval(id) }), ConsistentRead: true, ProjectionExpression: '#writeId', ExpressionAttributeNames: { '#writeId': WRITE_ID } }),
    );
    return result.Item !== undefined && unmarshall(result.Item)[WRITE_ID] === writeId;
  }
}
