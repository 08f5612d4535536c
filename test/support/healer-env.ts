/**
 * The AWS side of the healer on real local components: DynamoDB Local with both tables, moto with
 * the incident queue and the on-call topic (plus an inbox queue subscribed to it), and the
 * environment variables the Lambda handlers read. Handlers must be imported after this ran.
 */
import { randomBytes } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createTables, localAws, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';
import { createTopicWithInbox, startMoto, type Moto, type TopicInbox } from './moto.js';
import { resetAwsClients } from '../../lib/adapters/aws-clients.js';

export interface HealerEnv {
  readonly dynamo: DynamoDbLocal;
  readonly moto: Moto;
  readonly inbox: TopicInbox;
  readonly queueUrl: string;
  readonly token: string;
  readonly tables: { readonly state: string; readonly audit: string };
  /** Messages waiting on the incident queue right now (approximate, as SQS reports it). */
  queueDepth(): Promise<number>;
  stateItemCount(): Promise<number>;
  stop(): Promise<void>;
}

export async function startHealerEnv(extraEnv: Record<string, string> = {}): Promise<HealerEnv> {
  const [dynamo, moto] = await Promise.all([startDynamoDbLocal(), startMoto()]);
  const suffix = randomBytes(4).toString('hex');
  const tables = { state: `state-${suffix}`, audit: `audit-${suffix}` };
  await createTables(dynamo.client(), tables);
  const { QueueUrl: queueUrl } = await moto.sqs().send(new CreateQueueCommand({ QueueName: `incidents-${suffix}` }));
  if (!queueUrl) throw new Error('moto returned no queue URL');
  const inbox = await createTopicWithInbox(moto.sns(), moto.sqs(), `oncall-${suffix}`);
  const token = randomBytes(24).toString('base64url');
  Object.assign(process.env, {
    AWS_REGION: localAws().region,
    AWS_ACCESS_KEY_ID: localAws().credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localAws().credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: moto.endpoint,
    AWS_ENDPOINT_URL_SNS: moto.endpoint,
    AWS_ENDPOINT_URL_SSM: moto.endpoint,
    HEALER_STATE_TABLE: tables.state,
    HEALER_AUDIT_TABLE: tables.audit,
    HEALER_QUEUE_URL: queueUrl,
    HEALER_TOPIC_ARN: inbox.topicArn,
    HEALER_WEBHOOK_TOKEN: token,
    HEALER_CLUSTER_NAME: 'local',
    ...extraEnv,
  });
  resetAwsClients();
  return {
    dynamo,
    moto,
    inbox,
    queueUrl,
    token,
    tables,
    async queueDepth() {
      const { Attributes } = await moto.sqs().send(new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }));
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    },
    async stateItemCount() {
      const { Count } = await dynamo.client().send(new ScanCommand({ TableName: tables.state, Select: 'COUNT' }));
      return Count ?? 0;
    },
    async stop() {
      resetAwsClients();
      await Promise.allSettled([dynamo.stop(), moto.stop()]);
    },
  };
}
