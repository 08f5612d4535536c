/**
 * One SDK client per service per container, created on first use and reused across invocations
 * (connection reuse is most of a warm Lambda's speed). Endpoints come from the SDK's own
 * resolution, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (local DynamoDB/moto).
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';

/**
 * Bounded for Lambda: a hung connection must fail well inside the function timeout so the
 * pipeline can fail closed (and SQS redeliver) instead of Lambda killing the invocation.
 * 3 attempts with the SDK's standard jittered backoff ride out throttling and a dropped socket.
 */
export const LAMBDA_CLIENT_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  retryMode: 'standard' as const,
  // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
  // Worst case per call ~3 x 3 s + backoff: inside API Gateway's 29 s even for two calls.
  requestHandler: Object.freeze({ connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true }),
});

export function createDynamoDbClient(overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...LAMBDA_CLIENT_DEFAULTS, requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler }, ...overrides });
}

export function createSqsClient(overrides: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ ...LAMBDA_CLIENT_DEFAULTS, requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler }, ...overrides });
}

export function createSnsClient(overrides: SNSClientConfig = {}): SNSClient {
  return new SNSClient({ ...LAMBDA_CLIENT_DEFAULTS, requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler }, ...overrides });
}

export function createSsmClient(overrides: SSMClientConfig = {}): SSMClient {
  return new SSMClient({ ...LAMBDA_CLIENT_DEFAULTS, requestHandler: { ...LAMBDA_CLIENT_DEFAULTS.requestHandler }, ...overrides });
}

let dynamoDb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let sns: SNSClient | undefined;
let ssm: SSMClient | undefined;

export function dynamoDbClient(): DynamoDBClient {
  return (dynamoDb ??= createDynamoDbClient());
}

export function sqsClient(): SQSClient {
  return (sqs ??= createSqsClient());
}

export function snsClient(): SNSClient {
  return (sns ??= createSnsClient());
}

export function ssmClient(): SSMClient {
  return (ssm ??= createSsmClient());
}

/** Drops the shared clients (closing their sockets); the next call creates fresh ones. */
export function resetAwsClients(): void {
  for (const client of [dynamoDb, sqs, sns, ssm]) client?.destroy();
  dynamoDb = sqs = sns = ssm = undefined;
}
