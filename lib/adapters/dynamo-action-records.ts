import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ActedRecord, ActionRecords } from '../ports/index.js';
import { ActionPlanSchema } from '../domain/verification-schema.js';
import { parseIncidentValue } from '../domain/incident-schema.js';
import { dynamoDbClient } from './aws-clients.js';
import { stateKeys } from './tables.js';
import { retrySafe, WRITE_ID } from './retry-safe-write.js';

/**
 * What the healer did, in the state table (`acted#<actionId>#<incidentId>`), written once with a
 * condition. Verification and revert read the plan from here, never from a queue message. A record
 * that does not parse is an error, not "absent": the caller fails closed.
 */
export class DynamoActionRecords implements ActionRecords {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;

  constructor(options: { readonly tableName: string; readonly client?: DynamoDBClient }) {
    this.tableName = options.tableName;
    this.client = options.client ?? dynamoDbClient();
  }

  async put(record: ActedRecord, keepSeconds: number, nowMs: number): Promise<void> {
    const untilMs = nowMs + keepSeconds * 1000;
    const { writeId, ...firstOnly } = retrySafe('attribute_not_exists(pk)');
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({
          pk: stateKeys.acted(record.incident.id, record.actionId),
          untilMs,
          expiresAt: Math.ceil(untilMs / 1000),
          body: JSON.stringify({ incident: record.incident, plan: record.plan, actedAt: record.actedAt }),
          [WRITE_ID]: writeId,
        }),
        ...firstOnly,
      }),
    );
  }

  async get(incidentId: string, actionId: string): Promise<ActedRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: stateKeys.acted(incidentId, actionId) }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item) as Record<string, unknown>;
    const body = JSON.parse(String(item['body'])) as Record<string, unknown>;
    const incident = parseIncidentValue(body['incident']);
    const plan = ActionPlanSchema.safeParse(body['plan']);
    const actedAt = typeof body['actedAt'] === 'string' ? body['actedAt'] : undefined;
    if (!incident.ok || !plan.success || actedAt === undefined || incident.incident.id !== incidentId) {
      throw new Error(`the action record for incident ${incidentId} does not parse`);
    }
    return { actionId, incident: incident.incident, plan: plan.data, actedAt };
  }
}
